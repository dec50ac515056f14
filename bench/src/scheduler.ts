// SPDX-License-Identifier: PolyForm-Shield-1.0
// How fast cortex places jobs: acquire and release through the real JobQueue over up to 10,000 simulated neurons.

import { JobQueue, type Lease, NeuronRegistry, type NeuronSession, NeuronStats } from "@helexa/cortex";
import { quantile } from "./statistics.js";

const neuronCounts = [100, 1_000, 10_000];
const modelCount = 20;
/** Share of all slots held by running jobs while placements are timed. */
const occupancies = [0.5, 0.95];
/** Time spent measuring each row; the whole run stays well under a minute. */
const measureMs = 1_500;
const warmupMs = 300;
const aim = { neurons: 10_000, occupancy: 0.5, placementsPerSecond: 10_000 };

/** A seeded generator (mulberry32): the same fleet on every run. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SimulatedNeuron {
  session: NeuronSession;
  modelIds: string[];
  slots: number;
}

/**
 * A fleet shaped like a real one: each neuron serves 1–3 of 20 models (popular models more often),
 * has 1–8 slots, decodes at 5–200 tokens/s (spread evenly on a log scale), answers in 2–150 ms, and one
 * in twenty failed a job lately. The objects carry what placement reads of a NeuronSession.
 */
function simulateFleet(count: number, random: () => number): SimulatedNeuron[] {
  const fleet: SimulatedNeuron[] = [];
  for (let index = 0; index < count; index++) {
    const served = new Set<string>();
    const wanted = 1 + Math.floor(random() * 3);
    // Model k is picked with weight 1/(k+1): a few popular models, a long tail.
    while (served.size < wanted) served.add(`model-${Math.floor((modelCount + 1) ** random()) - 1}`);
    const modelIds = [...served];
    const slots = 1 + Math.floor(random() * 8);
    const stats = new NeuronStats();
    stats.recordJob({ completionTokens: 5 * 40 ** random(), decodeSeconds: 1, failed: false });
    stats.recordRoundTrip(2 + random() * 148);
    if (random() < 0.05) stats.recordJob({ completionTokens: 0, decodeSeconds: 0, failed: true });
    const session = {
      neuronId: `neuron-${index}`,
      name: `neuron-${index}`,
      ready: true,
      draining: false,
      slots,
      models: modelIds.map((id) => ({ id, contextLength: 8192 })),
      activeJobs: 0,
      stats,
      close() {},
    } as unknown as NeuronSession;
    fleet.push({ session, modelIds, slots });
  }
  return fleet;
}

interface Row {
  neurons: number;
  occupancy: number;
  registerMs: number;
  cycles: number;
  cyclesPerSecond: number;
  p50Us: number;
  p99Us: number;
}

/** Fills the fleet to the occupancy, then times acquire + release cycles that keep it there. */
async function measure(neurons: number, occupancy: number): Promise<Row> {
  const random = seeded(neurons);
  const fleet = simulateFleet(neurons, random);
  const registry = new NeuronRegistry();
  const registerStart = performance.now();
  for (const neuron of fleet) registry.add(neuron.session);
  const registerMs = performance.now() - registerStart;
  const queue = new JobQueue({
    registry,
    maxWaiting: 1_000_000,
    timeoutMs: 60_000,
    placement: { random },
  });
  const totalSlots = fleet.reduce((sum, neuron) => sum + neuron.slots, 0);
  const held: Array<{ lease: Lease; modelId: string }> = [];
  const used = new Map<NeuronSession, number>();
  // Fill: each job is for a model of a neuron that still has room, so no job ever has to wait.
  while (held.length < Math.floor(totalSlots * occupancy)) {
    const neuron = fleet[Math.floor(random() * fleet.length)]!;
    if ((used.get(neuron.session) ?? 0) >= neuron.slots) continue;
    const modelId = neuron.modelIds[Math.floor(random() * neuron.modelIds.length)]!;
    const lease = await queue.acquire({ accountId: `account-${held.length % 1000}`, modelId });
    used.set(lease.session, (used.get(lease.session) ?? 0) + 1);
    held.push({ lease, modelId });
  }
  // A cycle ends a random running job and places a job for the same model: there is always room for
  // it (the slot just freed at least), the occupancy stays put, and placement still chooses among
  // every neuron of that model with a free slot.
  const samples: number[] = [];
  const run = async (durationMs: number, record: boolean) => {
    const until = performance.now() + durationMs;
    const start = performance.now();
    let count = 0;
    while (performance.now() < until) {
      for (let batch = 0; batch < 100; batch++) {
        const slot = Math.floor(random() * held.length);
        const ended = held[slot]!;
        ended.lease.release();
        const placedAt = performance.now();
        const lease = await queue.acquire({ accountId: `account-${count % 1000}`, modelId: ended.modelId });
        const tookUs = (performance.now() - placedAt) * 1000;
        held[slot] = { lease, modelId: ended.modelId };
        if (record) samples.push(tookUs);
        count++;
      }
    }
    return { count, seconds: (performance.now() - start) / 1000 };
  };
  await run(warmupMs, false);
  const timed = await run(measureMs, true);
  const cycles = timed.count;
  if (queue.running !== held.length || queue.depth !== 0) throw new Error("the queue lost count of its jobs");
  for (const { lease } of held) lease.release();
  queue.close();
  return {
    neurons,
    occupancy,
    registerMs,
    cycles,
    cyclesPerSecond: cycles / timed.seconds,
    p50Us: quantile(samples, 0.5),
    p99Us: quantile(samples, 0.99),
  };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  process.stdout.write(
    `scheduler: acquire + release through JobQueue, ${modelCount} models, 1–3 per neuron, 1–8 slots, ${measureMs / 1000} s per row\n\n`,
  );
  const header = `${"neurons".padStart(8)}  ${"busy".padStart(5)}  ${"register ms".padStart(11)}  ${"placements/s".padStart(12)}  ${"p50 µs".padStart(7)}  ${"p99 µs".padStart(7)}`;
  process.stdout.write(`${header}\n`);
  for (const neurons of neuronCounts) {
    for (const occupancy of occupancies) {
      const row = await measure(neurons, occupancy);
      rows.push(row);
      process.stdout.write(
        `${String(row.neurons).padStart(8)}  ${`${Math.round(row.occupancy * 100)}%`.padStart(5)}  ${row.registerMs.toFixed(1).padStart(11)}  ${Math.round(row.cyclesPerSecond).toLocaleString("en").padStart(12)}  ${row.p50Us.toFixed(2).padStart(7)}  ${row.p99Us.toFixed(2).padStart(7)}\n`,
      );
    }
  }
  const target = rows.find((row) => row.neurons === aim.neurons && row.occupancy === aim.occupancy);
  const met = target !== undefined && target.cyclesPerSecond > aim.placementsPerSecond;
  const smallest = rows.find((row) => row.occupancy === aim.occupancy);
  process.stdout.write(
    `\nplacements/s at ${aim.neurons.toLocaleString("en")} neurons, ${aim.occupancy * 100}% busy: ${Math.round(target?.cyclesPerSecond ?? 0).toLocaleString("en")}` +
      `  (aim > ${aim.placementsPerSecond.toLocaleString("en")}/s: ${met ? "MET" : "MISSED"})\n`,
  );
  if (target && smallest)
    process.stdout.write(
      `from ${smallest.neurons} to ${target.neurons.toLocaleString("en")} neurons (${target.neurons / smallest.neurons}x): placements/s x${(target.cyclesPerSecond / smallest.cyclesPerSecond).toFixed(2)}\n`,
    );
}

main().catch((error: unknown) => {
  process.stderr.write(`scheduler: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
