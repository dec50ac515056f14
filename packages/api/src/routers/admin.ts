// SPDX-License-Identifier: PolyForm-Shield-1.0
// The admin router: the model catalog, accounts (suspend, role), every neuron, platform revenue.

import {
  byIdInputSchema,
  listAccountsInputSchema,
  setSuspendedInputSchema,
  upsertModelInputSchema,
} from "@helexa/protocol";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { adminProcedure, router } from "../trpc.js";

const perMillion = (credits: number) => Math.round(credits * 1_000_000);

export const adminRouter = router({
  overview: adminProcedure.query(async ({ ctx }) => {
    const overview = await ctx.services.queries.adminOverview();
    const live = ctx.services.fabric?.liveNeurons() ?? [];
    return {
      ...overview,
      neuronsOnline: live.length,
      browserNeuronsOnline: live.filter((neuron) => neuron.kind === "browser").length,
    };
  }),

  models: adminProcedure.query(({ ctx }) => ctx.services.catalog.listModels()),

  upsertModel: adminProcedure.input(upsertModelInputSchema).mutation(async ({ ctx, input }) => {
    await ctx.services.catalog.upsertModel({
      id: input.id,
      sourceUrl: input.sourceUrl ?? null,
      sha256: input.sha256 ?? null,
      sizeBytes: input.sizeBytes ?? null,
      mlc: input.mlc ?? null,
      contextLength: input.contextLength,
      pricePromptPerMillion: perMillion(input.pricePromptPerMillionCredits),
      priceCompletionPerMillion: perMillion(input.priceCompletionPerMillionCredits),
    });
    return { saved: true };
  }),

  deleteModel: adminProcedure.input(byIdInputSchema).mutation(async ({ ctx, input }) => {
    const deleted = await ctx.services.catalog.deleteModel(input.id);
    if (!deleted) throw new TRPCError({ code: "NOT_FOUND", message: `no model ${input.id} in the catalog` });
    return { deleted: true };
  }),

  accounts: adminProcedure.input(listAccountsInputSchema).query(({ ctx, input }) =>
    ctx.services.accounts.listAccountsWithBalances({
      limit: input.limit,
      offset: input.offset,
      ...(input.search ? { search: input.search } : {}),
    }),
  ),

  /** A suspended account's sessions end and its keys stop working at once. */
  setSuspended: adminProcedure.input(setSuspendedInputSchema).mutation(async ({ ctx, input }) => {
    if (input.accountId === ctx.session.account.id) {
      throw new TRPCError({ code: "BAD_REQUEST", message: "an admin cannot suspend their own account" });
    }
    const account = await ctx.services.accounts.getAccount(input.accountId);
    if (!account) throw new TRPCError({ code: "NOT_FOUND", message: "no such account" });
    await ctx.services.accounts.setSuspended({ accountId: input.accountId, suspended: input.suspended });
    if (input.suspended) {
      await ctx.services.auth.endAccountSessions({ accountId: input.accountId });
      // Their neurons' tokens stop verifying; the ones connected now leave at once.
      for (const neuron of ctx.services.fabric?.liveNeurons() ?? []) {
        if (neuron.operatorAccountId === input.accountId)
          ctx.services.fabric?.disconnectNeuron(neuron.neuronId);
      }
    }
    return { suspended: input.suspended };
  }),

  setRole: adminProcedure
    .input(z.object({ accountId: z.string().min(1).max(200), role: z.enum(["admin", "user"]) }))
    .mutation(async ({ ctx, input }) => {
      if (input.accountId === ctx.session.account.id && input.role !== "admin") {
        throw new TRPCError({ code: "BAD_REQUEST", message: "an admin cannot demote themselves" });
      }
      const account = await ctx.services.accounts.getAccount(input.accountId);
      if (!account) throw new TRPCError({ code: "NOT_FOUND", message: "no such account" });
      await ctx.services.accounts.setRole({ accountId: input.accountId, role: input.role });
      return { role: input.role };
    }),

  neurons: adminProcedure
    .input(z.object({ limit: z.int().min(1).max(200).default(100), offset: z.int().min(0).default(0) }))
    .query(async ({ ctx, input }) => {
      const page = await ctx.services.queries.listAllNeurons(input);
      const live = new Set((ctx.services.fabric?.liveNeurons() ?? []).map((neuron) => neuron.neuronId));
      return { ...page, neurons: page.neurons.map((row) => ({ ...row, online: live.has(row.id) })) };
    }),
});
