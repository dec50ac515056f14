// SPDX-License-Identifier: PolyForm-Shield-1.0
// Structured JSON logs for every helexa process.

export { createLogger, type Logger, type LoggerOptions, type LogLevel } from "./logger.js";
