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
  process.on("SIGTERM", () => handler("SIGTERM"));
  if (process.send) {
    // The neuron of `helexa up`: Ctrl-C reaches the whole process group, but its parent stops it
    // (with SIGTERM) in the right order; and it must not outlive that parent, however it dies.
    process.on("SIGINT", () => {});
    process.on("disconnect", () => handler("parent process gone"));
  } else {
    process.on("SIGINT", () => handler("SIGINT"));
  }
}
