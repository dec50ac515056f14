// SPDX-License-Identifier: PolyForm-Shield-1.0
// Sums a V8 CPU profile's self time by the package each function comes from: which code the main thread runs.

/** The parts of a V8 `.cpuprofile` this reads. */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Self time in microseconds per group, largest first. A native function (no script) counts for the
 * package that called it: node-llama-cpp's binding or node-datachannel's send is that package's cost.
 * V8's pseudo-frames ((idle), (program), (garbage collector)) are their own groups.
 */
export function summarizeCpuProfile(profile: CpuProfile): Array<{ group: string; microseconds: number }> {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const groups = new Map<number, string>();
  const groupOf = (id: number): string => {
    const known = groups.get(id);
    if (known) return known;
    const frame = nodes.get(id)?.callFrame;
    let group: string;
    if (!frame) group = "(unknown)";
    else if (frame.url) group = groupOfUrl(frame.url);
    else if (frame.functionName.startsWith("(")) group = frame.functionName;
    // The inspector's own `dispatch` is the profiler stopping: not the program's work.
    else if (frame.functionName === "dispatch") group = "(profiler)";
    else {
      const parent = parents.get(id);
      group = parent === undefined ? `(native ${frame.functionName || "anonymous"})` : groupOf(parent);
      if (group === "(root)") group = `(native ${frame.functionName || "anonymous"})`;
    }
    groups.set(id, group);
    return group;
  };
  const totals = new Map<string, number>();
  profile.samples.forEach((nodeId, index) => {
    const group = groupOf(nodeId);
    totals.set(group, (totals.get(group) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  return [...totals]
    .map(([group, microseconds]) => ({ group, microseconds }))
    .sort((a, b) => b.microseconds - a.microseconds);
}

function groupOfUrl(url: string): string {
  const npm = /node_modules\/(@[^/]+\/[^/]+|[^/]+)\//.exec(url);
  if (npm) return npm[1] as string;
  const workspace = /\/(packages|apps)\/([^/]+)\/dist\//.exec(url);
  if (workspace) return `@helexa/${workspace[2]}`;
  if (/\/bench\/dist\//.test(url)) return "@helexa/bench";
  if (url.startsWith("node:internal/")) return "node:internal";
  if (url.startsWith("node:")) return url;
  if (url.startsWith("wasm://")) return "(wasm)";
  return url;
}
