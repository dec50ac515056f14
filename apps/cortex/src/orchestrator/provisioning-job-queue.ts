// SPDX-License-Identifier: PolyForm-Shield-1.0
// The job queue with the provisioner in the loop: it learns which neuron runs which model, and a failed load ends the waits for it.

import { JobQueue, type JobQueueOptions, type Lease } from "./job-queue.js";
import type { Provisioner } from "./provisioner.js";

type JobRequest = Parameters<JobQueue["acquire"]>[0];

export class ProvisioningJobQueue extends JobQueue {
  readonly #provisioner: Provisioner;

  constructor(options: JobQueueOptions & { provisioner: Provisioner }) {
    super(options);
    this.#provisioner = options.provisioner;
  }

  override acquire(job: JobRequest): Promise<Lease> {
    const provisioner = this.#provisioner;
    const { modelId } = job;
    // A job for a model being loaded waits for the load too: its failure is the job's answer.
    const loading = provisioner.loadSignal(modelId);
    const signal = loading && job.signal ? AbortSignal.any([job.signal, loading]) : (loading ?? job.signal);
    provisioner.queued(modelId, 1);
    return super.acquire(signal ? { ...job, signal } : job).then(
      (lease) => {
        provisioner.queued(modelId, -1);
        return provisioner.track(lease, modelId);
      },
      (error: unknown) => {
        provisioner.queued(modelId, -1);
        throw error;
      },
    );
  }
}
