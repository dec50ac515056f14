// SPDX-License-Identifier: PolyForm-Shield-1.0
// CPU time of one process's threads, from Linux's /proc schedstat: time on a CPU and time waiting for one.

import { readdirSync, readFileSync } from "node:fs";

export interface CpuTime {
  /** Nanoseconds the threads ran. */
  runningNs: number;
  /** Nanoseconds the threads were runnable but waited for a CPU: the cost of too few cores. */
  waitingNs: number;
}

/** A process's CPU time, its main thread (where its JavaScript runs) apart from all its other threads. */
export interface ProcessCpu {
  main: CpuTime;
  others: CpuTime;
}

export type ThreadCpuReading = ReadonlyMap<number, CpuTime>;

export class ProcessCpuMeter {
  readonly pid: number;

  constructor(pid: number) {
    this.pid = pid;
  }

  /** Null where /proc schedstat is missing (not Linux, or a kernel without it): the figures are then left out. */
  read(): ThreadCpuReading | null {
    let threads: string[];
    try {
      threads = readdirSync(`/proc/${this.pid}/task`);
    } catch {
      return null;
    }
    const reading = new Map<number, CpuTime>();
    for (const thread of threads) {
      try {
        const [running, waiting] = readFileSync(`/proc/${this.pid}/task/${thread}/schedstat`, "utf8").split(
          " ",
        );
        reading.set(Number(thread), { runningNs: Number(running), waitingNs: Number(waiting) });
      } catch {
        // The thread ended between the listing and the read.
      }
    }
    return reading.size > 0 ? reading : null;
  }

  /** What ran between two readings; a thread that ended in between is lost, which is rare for long-lived threads. */
  between(before: ThreadCpuReading, after: ThreadCpuReading): ProcessCpu {
    const usage: ProcessCpu = {
      main: { runningNs: 0, waitingNs: 0 },
      others: { runningNs: 0, waitingNs: 0 },
    };
    for (const [thread, end] of after) {
      const start = before.get(thread) ?? { runningNs: 0, waitingNs: 0 };
      const into = thread === this.pid ? usage.main : usage.others;
      into.runningNs += Math.max(0, end.runningNs - start.runningNs);
      into.waitingNs += Math.max(0, end.waitingNs - start.waitingNs);
    }
    return usage;
  }
}
