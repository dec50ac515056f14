// SPDX-License-Identifier: PolyForm-Shield-1.0
// Gauges of the fabric read at each scrape: neurons online by runtime and the ledger's totals.

import type { MetricsRegistry } from "./metrics-registry.js";

export interface FabricMetricsSources {
  /** The neurons connected now, each with its runtime's kind. */
  neurons: () => Iterable<{ runtime: string }>;
  /** Micro-credits by ledger account kind; absent where this cortex has no database. */
  ledgerTotals?: () => Promise<Readonly<Record<string, number>>>;
}

export function registerFabricMetrics(registry: MetricsRegistry, sources: FabricMetricsSources): void {
  // A runtime once seen stays at 0 when its last neuron leaves, rather than its series vanishing:
  // a vanished series reads as "no data" in alerts and graphs instead of as none online.
  const runtimesSeen = new Set<string>();
  registry.collectedGauge({
    name: "helexa_neurons_online",
    help: "Neurons connected to this orchestrator, by runtime.",
    labelNames: ["runtime"],
    collect: () => {
      const online = new Map<string, number>();
      for (const runtime of runtimesSeen) online.set(runtime, 0);
      for (const neuron of sources.neurons()) {
        runtimesSeen.add(neuron.runtime);
        online.set(neuron.runtime, (online.get(neuron.runtime) ?? 0) + 1);
      }
      return [...online].map(([runtime, value]) => ({ labels: { runtime }, value }));
    },
  });

  const ledgerTotals = sources.ledgerTotals;
  if (ledgerTotals) {
    registry.collectedGauge({
      name: "helexa_ledger_balance_microcredits",
      help: "The sum of ledger account balances by kind, in micro-credits (funding is negative: it is what was granted or bought).",
      labelNames: ["kind"],
      collect: async () =>
        Object.entries(await ledgerTotals()).map(([kind, value]) => ({ labels: { kind }, value })),
    });
  }
}
