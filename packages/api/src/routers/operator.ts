// SPDX-License-Identifier: PolyForm-Shield-1.0
// The operator router: register neurons (token shown once), see them live, and the earnings ledger.

import { byIdInputSchema, ledgerHistoryInputSchema, registerNeuronInputSchema } from "@helexa/protocol";
import { TRPCError } from "@trpc/server";
import { protectedProcedure, router } from "../trpc.js";

export const operatorRouter = router({
  neurons: protectedProcedure.query(async ({ ctx }) => {
    const accountId = ctx.session.account.id;
    const rows = await ctx.services.queries.operatorNeurons(accountId);
    const live = new Map(
      (ctx.services.fabric?.liveNeurons() ?? [])
        .filter((neuron) => neuron.operatorAccountId === accountId)
        .map((neuron) => [neuron.neuronId, neuron]),
    );
    return rows.map((row) => {
      const now = live.get(row.id);
      return {
        ...row,
        online: now !== undefined,
        activeJobs: now?.activeJobs ?? 0,
        slots: now?.slots ?? null,
        models: now?.models ?? [],
        runtime: now?.runtime ?? null,
        hardware: now?.hardware ?? null,
      };
    });
  }),

  balance: protectedProcedure.query(({ ctx }) =>
    ctx.services.ledger.getBalance(ctx.session.account.id, { kind: "operator_earnings" }),
  ),

  earnings: protectedProcedure.input(ledgerHistoryInputSchema).query(({ ctx, input }) =>
    ctx.services.queries.ledgerHistory({
      accountId: ctx.session.account.id,
      kind: "operator_earnings",
      limit: input.limit,
      ...(input.beforeEntryId ? { beforeEntryId: input.beforeEntryId } : {}),
    }),
  ),

  /** The token is in this answer and nowhere else, with the command that starts the neuron. */
  register: protectedProcedure.input(registerNeuronInputSchema).mutation(async ({ ctx, input }) => {
    const registered = await ctx.services.neurons.registerNeuron({
      accountId: ctx.session.account.id,
      name: input.name,
    });
    const cortexUrl = ctx.services.urls.orchestrator;
    return {
      id: registered.neuronId,
      token: registered.token,
      command: `helexa neuron --cortex ${cortexUrl ?? "ws://<cortex-host>:8040"} --token ${registered.token} --name ${shellWord(input.name)}`,
    };
  }),

  revoke: protectedProcedure.input(byIdInputSchema).mutation(async ({ ctx, input }) => {
    const accountId = ctx.session.account.id;
    const owned = await ctx.services.neurons.listNeurons(accountId);
    if (!owned.some((neuron) => neuron.id === input.id)) {
      throw new TRPCError({ code: "FORBIDDEN", message: "this neuron is not one of yours" });
    }
    const revoked = await ctx.services.neurons.revokeNeuron({ neuronId: input.id, accountId });
    ctx.services.fabric?.disconnectNeuron(input.id);
    return { revoked };
  }),
});

function shellWord(text: string): string {
  return /^[A-Za-z0-9._@%+=:,/-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
