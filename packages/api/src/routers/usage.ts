// SPDX-License-Identifier: PolyForm-Shield-1.0
// The usage router: tokens and spend per day and per model, as rows and as CSV.

import { dateRangeInputSchema } from "@helexa/protocol";
import { protectedProcedure, router } from "../trpc.js";

const dayMs = 86_400_000;

export const usageRouter = router({
  byDay: protectedProcedure.input(dateRangeInputSchema).query(({ ctx, input }) =>
    ctx.services.queries.usageByDay({
      accountId: ctx.session.account.id,
      from: new Date(`${input.from}T00:00:00Z`),
      to: new Date(Date.parse(`${input.to}T00:00:00Z`) + dayMs),
    }),
  ),

  /** The same rows as CSV, credits with six decimals so a spreadsheet sums them exactly. */
  csv: protectedProcedure.input(dateRangeInputSchema).query(async ({ ctx, input }) => {
    const rows = await ctx.services.queries.usageByDay({
      accountId: ctx.session.account.id,
      from: new Date(`${input.from}T00:00:00Z`),
      to: new Date(Date.parse(`${input.to}T00:00:00Z`) + dayMs),
    });
    const lines = ["day,model,requests,prompt_tokens,completion_tokens,cost_credits"];
    for (const row of rows) {
      lines.push(
        [
          row.day,
          csvField(row.model),
          row.requests,
          row.promptTokens,
          row.completionTokens,
          credits(row.cost),
        ].join(","),
      );
    }
    return { filename: `helexa-usage-${input.from}-to-${input.to}.csv`, csv: `${lines.join("\n")}\n` };
  }),
});

function credits(microCredits: number): string {
  const sign = microCredits < 0 ? "-" : "";
  const absolute = Math.abs(microCredits);
  return `${sign}${Math.floor(absolute / 1_000_000)}.${String(absolute % 1_000_000).padStart(6, "0")}`;
}

function csvField(value: string): string {
  // A leading = + - @ (or a tab or carriage return before one) would make a spreadsheet run it as a formula.
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
