// SPDX-License-Identifier: PolyForm-Shield-1.0
// SIGINT/SIGTERM: run the command's cleanup once, and let a second signal end the process at once.

export function onShutdownSignal(cleanup: (signal: NodeJS.Signals) => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`helexa: ${signal} again, exiting now\n`);
      process.exit(130);
    }
    stopping = true;
    process.stderr.write(`helexa: ${signal}, shutting down (send it again to force)\n`);
    cleanup(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`helexa: shutdown failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}
