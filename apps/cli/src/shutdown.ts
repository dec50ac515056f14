// SPDX-License-Identifier: PolyForm-Shield-1.0
// SIGINT/SIGTERM (or the parent going away): run the command's cleanup once; a second signal ends it at once.

export function onShutdownSignal(cleanup: (reason: string) => Promise<void>): void {
  let stopping = false;
  const handler = (reason: string) => {
    if (stopping) {
      process.stderr.write(`helexa: ${reason} again, exiting now\n`);
      process.exit(130);
    }
    stopping = true;
    process.stderr.write(`helexa: ${reason}, shutting down (send it again to force)\n`);
    cleanup(reason).then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`helexa: shutdown failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => handler("SIGINT"));
  process.on("SIGTERM", () => handler("SIGTERM"));
  // A process started with an IPC channel (the neuron of `helexa up`) must not outlive its parent.
  if (process.send) process.on("disconnect", () => handler("parent process gone"));
}
