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

export interface LoggerOptions {
  level?: LogLevel;
  /** "json" (one object per line, for collectors) by default; "text" reads better in a terminal. */
  format?: "json" | "text";
  stream?: { write(line: string): unknown };
  fields?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions): Logger {
  const threshold = ranks[options.level ?? "info"];
  const stream = options.stream ?? process.stderr;
  const base = options.fields ?? {};
  const write = (level: Exclude<LogLevel, "silent">, event: string, fields: Record<string, unknown> = {}) => {
    if (ranks[level] < threshold) return;
    const record = { time: new Date().toISOString(), level, event, ...base, ...fields };
    stream.write(options.format === "text" ? `${formatText(record)}\n` : `${JSON.stringify(record)}\n`);
  };
  return {
    debug: (event, fields) => write("debug", event, fields),
    info: (event, fields) => write("info", event, fields),
    warn: (event, fields) => write("warn", event, fields),
    error: (event, fields) => write("error", event, fields),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

function formatText(
  record: Record<string, unknown> & { time: string; level: string; event: string },
): string {
  const { time, level, event, ...fields } = record;
  const rest = Object.entries(fields)
    .map(
      ([key, value]) =>
        `${key}=${typeof value === "string" && !/\s/.test(value) ? value : JSON.stringify(value)}`,
    )
    .join(" ");
  return `${time.slice(11, 23)} ${level.padEnd(5)} ${event}${rest ? ` ${rest}` : ""}`;
}
