// SPDX-License-Identifier: PolyForm-Shield-1.0
// helexa's layered configuration: one zod schema, defaults < config file < HELEXA_* environment < flags.

export { ConfigError, type ConfigErrorOptions } from "./config-error.js";
export { type ConfigKey, configKeys, environmentVariableFor } from "./config-keys.js";
export {
  type Config,
  type ConfigInput,
  configSchema,
  type GpuMode,
  gpuModes,
  type LogLevel,
  logLevels,
} from "./config-schema.js";
export { defaultConfigValues, defaultHomeDirectory, upCortexSockets } from "./default-config.js";
export { type Environment, readProcessEnvironment } from "./environment.js";
export { type LoadConfigOptions, loadConfig } from "./load-config.js";
export { formatSocketAddress, parseSocketAddress, type SocketAddress } from "./socket-address.js";
