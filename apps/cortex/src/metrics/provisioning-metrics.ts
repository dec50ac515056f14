// SPDX-License-Identifier: PolyForm-Shield-1.0
// What the provisioner reports: model loads asked of neurons and how they ended, unloads, loads under way.

import type { MetricsRegistry } from "./metrics-registry.js";

export type ModelLoadResult = "loaded" | "failed";

export interface ProvisioningMetrics {
  loadStarted(input: { model: string }): void;
  loadFinished(input: { model: string; result: ModelLoadResult }): void;
  unloadRequested(input: { model: string }): void;
  /** Loads under way, read at each scrape; 0 until a source is given. */
  setLoadingSource(source: () => number): void;
}

/** Model labels here are catalog ids (only catalog models are provisioned), so they cannot be made up by a client. */
export function createProvisioningMetrics(registry: MetricsRegistry): ProvisioningMetrics {
  const started = registry.counter({
    name: "helexa_model_loads_started_total",
    help: "Model loads cortex asked a neuron for, by model.",
    labelNames: ["model"],
  });
  const finished = registry.counter({
    name: "helexa_model_loads_total",
    help: "Model loads that ended, by model and result (loaded or failed).",
    labelNames: ["model", "result"],
  });
  const unloads = registry.counter({
    name: "helexa_model_unloads_total",
    help: "Models cortex asked a neuron to unload to make room for another, by model.",
    labelNames: ["model"],
  });
  let loading: () => number = () => 0;
  registry.collectedGauge({
    name: "helexa_model_loads_in_progress",
    help: "Model loads under way on neurons (downloading or loading).",
    collect: () => loading(),
  });
  return {
    loadStarted: ({ model }) => started.inc({ model }),
    loadFinished: ({ model, result }) => finished.inc({ model, result }),
    unloadRequested: ({ model }) => unloads.inc({ model }),
    setLoadingSource(source) {
      loading = source;
    },
  };
}
