// SPDX-License-Identifier: PolyForm-Shield-1.0
// The landing page's live counts: neurons online, models served, tokens served today.

import { publicProcedure, router } from "../trpc.js";

export const statsRouter = router({
  live: publicProcedure.query(async ({ ctx }) => {
    const now = new Date();
    const midnight = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    const stats = await ctx.services.queries.platformStats({ since: midnight });
    const live = ctx.services.fabric?.liveNeurons() ?? [];
    const served = new Set(live.flatMap((neuron) => neuron.models.map((model) => model.id)));
    return {
      neuronsOnline: live.length,
      modelsServed: served.size,
      modelsInCatalog: stats.models,
      tokensToday: stats.tokensServed,
      requestsToday: stats.requests,
    };
  }),
});
