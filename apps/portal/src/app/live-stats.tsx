// SPDX-License-Identifier: PolyForm-Shield-1.0
// The landing page's live counts: neurons online, models served, tokens served today.

"use client";

import { useQuery } from "@tanstack/react-query";
import { Stat } from "../components/stat";
import { formatCompact, formatInteger } from "../lib/format";
import { useTRPC } from "./providers";

export function LiveStats() {
  const trpc = useTRPC();
  const stats = useQuery({ ...trpc.stats.live.queryOptions(), refetchInterval: 10_000 });
  const value = (pick: (data: NonNullable<typeof stats.data>) => number, compact = false) => {
    if (!stats.data) return stats.isError ? "—" : "…";
    const number = pick(stats.data);
    return compact ? formatCompact(number) : formatInteger(number);
  };

  return (
    <section className="stats" aria-labelledby="stats-title" aria-busy={stats.isPending}>
      <h2 id="stats-title" className="visually-hidden">
        The fabric right now
      </h2>
      <dl className="stat-grid">
        <Stat label="Neurons online">{value((data) => data.neuronsOnline)}</Stat>
        <Stat label="Models served">{value((data) => data.modelsServed)}</Stat>
        <Stat label="Tokens served today">{value((data) => data.tokensToday, true)}</Stat>
      </dl>
      {stats.isError ? <p className="muted small">Live counts are unavailable right now.</p> : null}
    </section>
  );
}
