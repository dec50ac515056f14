// SPDX-License-Identifier: PolyForm-Shield-1.0
// Structured JSON log lines, one per event, to a writable stream.

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const ranks: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export function createLogger(options: {
  level?: LogLevel;
  stream?: { write(line: string): unknown };
  fields?: Record<string, unknown>;
}): Logger {
  const threshold = ranks[options.level ?? "info"];
  const stream = options.stream ?? process.stderr;
  const base = options.fields ?? {};
  const write = (level: Exclude<LogLevel, "silent">, event: string, fields: Record<string, unknown> = {}) => {
    if (ranks[level] < threshold) return;
    stream.write(`${JSON.stringify({ time: new Date().toISOString(), level, event, ...base, ...fields })}\n`);
  };
  return {
    debug: (event, fields) => write("debug", event, fields),
    info: (event, fields) => write("info", event, fields),
    warn: (event, fields) => write("warn", event, fields),
    error: (event, fields) => write("error", event, fields),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}
