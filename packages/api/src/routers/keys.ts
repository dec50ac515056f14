// SPDX-License-Identifier: PolyForm-Shield-1.0
// The API keys router: create (shown once), list with spend and last use, revoke.

import { byIdInputSchema, createApiKeyInputSchema } from "@helexa/protocol";
import { TRPCError } from "@trpc/server";
import { protectedProcedure, router } from "../trpc.js";

export const keysRouter = router({
  list: protectedProcedure.query(({ ctx }) => ctx.services.apiKeys.listApiKeys(ctx.session.account.id)),

  /** The key is in this answer and nowhere else: only its hash is stored. */
  create: protectedProcedure.input(createApiKeyInputSchema).mutation(async ({ ctx, input }) => {
    const created = await ctx.services.apiKeys.createApiKey({
      accountId: ctx.session.account.id,
      name: input.name,
      spendLimit: input.spendLimitCredits ?? null,
      rateLimitPerMinute: input.rateLimitPerMinute ?? null,
    });
    return {
      id: created.id,
      key: created.key,
      prefix: created.prefix,
      gatewayUrl: ctx.services.urls.gateway,
    };
  }),

  revoke: protectedProcedure.input(byIdInputSchema).mutation(async ({ ctx, input }) => {
    const keys = await ctx.services.apiKeys.listApiKeys(ctx.session.account.id);
    const key = keys.find((candidate) => candidate.id === input.id);
    if (!key) {
      // Someone else's key, or none: either way not this account's to touch.
      throw new TRPCError({ code: "FORBIDDEN", message: "this key is not one of yours" });
    }
    if (key.revokedAt) return { revoked: false };
    await ctx.services.apiKeys.revokeApiKey({ keyId: input.id, accountId: ctx.session.account.id });
    return { revoked: true };
  }),
});
