// SPDX-License-Identifier: PolyForm-Shield-1.0
// The donate router: a neuron token for a browser tab, the signed-in visitor's or an anonymous donor's.

import { browserNeuronTokenInputSchema, HelexaError, mlcBuildSchema } from "@helexa/protocol";
import { publicProcedure, router } from "../trpc.js";

/** Anonymous donation tokens one address may make per hour: each is a neuron row, and a bot could make many. */
export const anonymousTokensPerHour = 5;
/** Browser neurons one account may register per hour (a tab reuses its token; a new one is a new browser). */
export const accountBrowserNeuronsPerHour = 20;

const hourMs = 3_600_000;

export const donateRouter = router({
  /**
   * The catalog's models a tab can serve: those with a model file (a source URL), which cortex serves on
   * this origin at /models/<id>/file with Range and caching headers. Smallest first: a tab starts there.
   */
  models: publicProcedure.query(async ({ ctx }) => {
    const rows = await ctx.services.catalog.listModels();
    return rows
      .filter((row) => row.sourceUrl !== null)
      .map((row) => ({
        id: row.id,
        url: `/models/${encodeURIComponent(row.id)}/file`,
        ...(row.sha256 ? { sha256: row.sha256.toLowerCase() } : {}),
        ...(row.sizeBytes ? { sizeBytes: row.sizeBytes } : {}),
        contextLength: row.contextLength,
        // WebLLM runs the MLC build where the tab has WebGPU; a stored build that no longer parses is left out.
        ...(row.mlc && mlcBuildSchema.safeParse(row.mlc).success
          ? { mlc: mlcBuildSchema.parse(row.mlc) }
          : {}),
      }))
      .sort((a, b) => (a.sizeBytes ?? Number.MAX_SAFE_INTEGER) - (b.sizeBytes ?? Number.MAX_SAFE_INTEGER));
  }),

  /**
   * The token a /donate tab says hello with, kept in its localStorage and handed back on later visits:
   * reused while it still names a live browser neuron of whoever asks now (the signed-in account, or no
   * account for an anonymous visitor), otherwise a new one. A signed-in visitor's tab earns for their
   * account; an anonymous donor's has no operator, and the platform keeps its share.
   */
  neuronToken: publicProcedure.input(browserNeuronTokenInputSchema).mutation(async ({ ctx, input }) => {
    const { neurons, urls } = ctx.services;
    const accountId = ctx.session?.account.id ?? null;
    const answer = (neuronId: string, token: string, reused: boolean) => ({
      neuronId,
      token,
      reused,
      anonymous: accountId === null,
      /** Where the tab dials, by WebSocket: cortex's orchestrator socket. */
      cortexUrl: urls.orchestrator,
    });

    if (input.token) {
      const kept = await neurons.verifyNeuronToken(input.token);
      if (kept && kept.kind === "browser" && kept.accountId === accountId) {
        return answer(kept.neuronId, input.token, true);
      }
    }

    const since = new Date(Date.now() - hourMs);
    if (accountId === null) {
      const made = await neurons.countBrowserNeuronsSince({ since, anonymousAddress: ctx.address });
      if (made >= anonymousTokensPerHour) {
        throw new HelexaError(
          "rate_limited",
          `this address made ${made} anonymous donation tokens in the last hour; try again later, or sign in`,
          { retryAfterSeconds: 600 },
        );
      }
    } else {
      const made = await neurons.countBrowserNeuronsSince({ since, accountId });
      if (made >= accountBrowserNeuronsPerHour) {
        throw new HelexaError(
          "rate_limited",
          `this account registered ${made} browser neurons in the last hour; try again later`,
          { retryAfterSeconds: 600 },
        );
      }
    }
    const registered = await neurons.registerNeuron({
      accountId,
      kind: "browser",
      name: input.name ?? (accountId === null ? "anonymous browser tab" : "browser tab"),
      ...(accountId === null ? { createdFromAddress: ctx.address } : {}),
    });
    return answer(registered.neuronId, registered.token, false);
  }),
});
