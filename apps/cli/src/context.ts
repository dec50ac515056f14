// SPDX-License-Identifier: PolyForm-Shield-1.0
// What every command starts from: parsed flags, the layered config, a logger, and progress bars.

import { type Config, loadConfig, parseSocketAddress } from "@helexa/config";
import { createLogger, type Logger } from "@helexa/log";
import type { DownloadProgress } from "@helexa/models";
import type { ProgressEvent } from "@helexa/runtime";
import { type CommandName, flagSpecs, helpFor, parseFlags } from "./flags.js";
import { createProgressBar, type ProgressBar } from "./progress-bar.js";

export interface CommandContext {
  config: Config;
  log: Logger;
  commandFlags: Record<string, string | boolean>;
}

/** Parses and loads; null when --help was asked for and printed. */
export function prepareCommand(options: {
  command: CommandName;
  argv: string[];
  summary: string;
  includeUpDefaults?: boolean;
}): CommandContext | null {
  const flags = parseFlags(options.command, options.argv);
  if (flags.help) {
    process.stdout.write(helpFor(options.command, options.summary));
    return null;
  }
  const config = loadConfig({
    flags: flags.config,
    flagNames: Object.fromEntries(
      flagSpecs.flatMap((spec) => (spec.configKey ? [[spec.configKey, spec.name]] : [])),
    ),
    ...(flags.configFile ? { configFile: flags.configFile } : {}),
    includeUpDefaults: options.includeUpDefaults ?? false,
  });
  const log = createLogger({
    level: config.log.level,
    format: config.log.json || !process.stderr.isTTY ? "json" : "text",
  });
  return { config, log, commandFlags: flags.command };
}

export function socketOf(text: string | undefined): { host: string; port: number } | undefined {
  return text ? parseSocketAddress(text) : undefined;
}

/** Progress bars for a model's download and load, one bar per phase. */
export function modelProgress(): {
  onDownloadProgress: (progress: DownloadProgress) => void;
  onLoadProgress: (event: ProgressEvent) => void;
  finish: (error?: unknown) => void;
} {
  let download: ProgressBar | null = null;
  let load: ProgressBar | null = null;
  return {
    onDownloadProgress(progress) {
      download ??= createProgressBar({ label: "download" });
      download.update({
        fraction: progress.fraction,
        bytesDone: progress.downloadedBytes,
        bytesTotal: progress.totalBytes,
        bytesPerSecond: progress.bytesPerSecond,
      });
    },
    onLoadProgress(event) {
      load ??= createProgressBar({ label: `load ${event.label}` });
      load.update({ fraction: event.fraction });
    },
    finish(error) {
      const message = error instanceof Error ? error.message.slice(0, 80) : "failed";
      for (const bar of [download, load]) {
        if (error === undefined) bar?.done();
        else bar?.fail(message);
      }
    },
  };
}
