// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests of the config layers: precedence, coercion, and the one-line errors that name key and source.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError } from "./config-error.js";
import { type LoadConfigOptions, loadConfig } from "./load-config.js";

const scratch = mkdtempSync(join(tmpdir(), "helexa-config-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

let homeCount = 0;
/** A fresh helexa home, with a config.json holding `file` when given. */
function makeHome(file?: unknown): string {
  const home = join(scratch, `home-${homeCount++}`);
  mkdirSync(home, { recursive: true });
  if (file !== undefined) writeFileSync(join(home, "config.json"), JSON.stringify(file));
  return home;
}

/** Loads with a home of its own and no real environment, collecting warnings. */
function load(options: LoadConfigOptions & { file?: unknown } = {}) {
  const warnings: string[] = [];
  const home = makeHome(options.file);
  const config = loadConfig({
    ...options,
    environment: { HELEXA_HOME: home, ...options.environment },
    onWarning: (message) => warnings.push(message),
  });
  return { config, warnings, home };
}

function assertConfigError(run: () => unknown, expected: string): ConfigError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.exitCode, 2);
  assert.equal(caught.message, expected);
  assert.ok(!caught.message.includes("\n"), "the message is one line");
  return caught;
}

describe("loadConfig defaults", () => {
  it("fills every default, with paths under the home directory and no cortex role switched on", () => {
    const { config, home, warnings } = load();
    assert.equal(config.home, home);
    assert.equal(config.neuron.modelsDir, join(home, "models"));
    assert.equal(config.neuron.threads, availableParallelism());
    assert.equal(config.neuron.slots, 1);
    assert.equal(config.neuron.gpu, "auto");
    assert.equal(config.neuron.controlSocket, "0.0.0.0:9050");
    assert.equal(config.neuron.apiSocket, "127.0.0.1:8060");
    assert.equal(config.neuron.drainTimeoutSeconds, 60);
    assert.equal(
      load({ environment: { HELEXA_NEURON_DRAIN_TIMEOUT_SECONDS: "5" } }).config.neuron.drainTimeoutSeconds,
      5,
    );
    assert.equal(config.ledger.operatorShare, 0.7);
    assert.equal(config.ledger.initialCredits, 10_000_000);
    assert.equal(config.log.level, "info");
    assert.deepEqual(config.ice.servers, []);
    // Only the queue's bounds, no socket: no cortex role is on.
    assert.deepEqual(config.cortex, {
      queueLimit: 512,
      queueTimeoutSeconds: 30,
      modelsDir: join(home, "models"),
    });
    assert.equal(config.database.url, undefined);
    assert.deepEqual(warnings, []);
  });

  it("adds the cortex sockets of `helexa up` when asked", () => {
    const { config, home } = load({ includeUpDefaults: true });
    assert.deepEqual(config.cortex, {
      queueLimit: 512,
      queueTimeoutSeconds: 30,
      modelsDir: join(home, "models"),
      orchestratorSocket: "127.0.0.1:8040",
      gatewaySocket: "127.0.0.1:8080",
      portalSocket: "127.0.0.1:8091",
    });
  });

  it("defaults home to ~/.helexa and expands ~ in paths", () => {
    // An explicit empty config file keeps a real ~/.helexa/config.json on this machine out of the test.
    const config = loadConfig({ environment: {}, configFile: join(makeHome({}), "config.json") });
    assert.equal(config.home, join(homedir(), ".helexa"));
    const expanded = load({ flags: { "neuron.models-dir": "~/models" } }).config;
    assert.equal(expanded.neuron.modelsDir, join(homedir(), "models"));
  });
});

describe("loadConfig precedence", () => {
  const cases: Array<{
    layers: string;
    file?: unknown;
    environment?: Record<string, string>;
    flags?: object;
    threads: number;
  }> = [
    { layers: "default", threads: availableParallelism() },
    { layers: "file over default", file: { neuron: { threads: 3 } }, threads: 3 },
    {
      layers: "env over file",
      file: { neuron: { threads: 3 } },
      environment: { HELEXA_NEURON_THREADS: "5" },
      threads: 5,
    },
    {
      layers: "flag over env",
      file: { neuron: { threads: 3 } },
      environment: { HELEXA_NEURON_THREADS: "5" },
      flags: { "neuron.threads": "7" },
      threads: 7,
    },
    {
      layers: "flag over file",
      file: { neuron: { threads: 3 } },
      flags: { neuron: { threads: 9 } },
      threads: 9,
    },
  ];
  for (const { layers, file, environment, flags, threads } of cases) {
    it(`takes neuron.threads from the ${layers}`, () => {
      const { config } = load({ file, environment, flags: flags as Record<string, unknown> | undefined });
      assert.equal(config.neuron.threads, threads);
    });
  }

  it("keeps the values of lower layers for keys a higher layer does not set", () => {
    const { config } = load({
      file: { neuron: { slots: 4, gpu: "vulkan" }, ledger: { operatorShare: 0.5 } },
      environment: { HELEXA_NEURON_GPU: "cuda" },
      flags: { "cortex.gatewaySocket": ":8081", "neuron.slots": undefined },
    });
    assert.equal(config.neuron.slots, 4);
    assert.equal(config.neuron.gpu, "cuda");
    assert.equal(config.ledger.operatorShare, 0.5);
    assert.equal(config.cortex.gatewaySocket, "0.0.0.0:8081");
  });

  it("finds the config file through HELEXA_HOME, HELEXA_CONFIG and the configFile option", () => {
    assert.equal(load({ file: { log: { level: "debug" } } }).config.log.level, "debug");
    const elsewhere = join(makeHome(), "elsewhere.json");
    writeFileSync(elsewhere, JSON.stringify({ log: { level: "warn" } }));
    assert.equal(load({ environment: { HELEXA_CONFIG: elsewhere } }).config.log.level, "warn");
    const option = join(makeHome(), "option.json");
    writeFileSync(option, JSON.stringify({ log: { level: "error" } }));
    assert.equal(
      load({ configFile: option, environment: { HELEXA_CONFIG: elsewhere } }).config.log.level,
      "error",
    );
  });

  it("lets a home set in the config file move the default models directory", () => {
    const file = join(makeHome(), "elsewhere.json");
    writeFileSync(file, JSON.stringify({ home: join(scratch, "moved") }));
    const { config } = load({ environment: { HELEXA_HOME: "", HELEXA_CONFIG: file } });
    assert.equal(config.home, join(scratch, "moved"));
    assert.equal(config.neuron.modelsDir, join(scratch, "moved", "models"));
  });

  it("accepts DATABASE_URL and prefers HELEXA_DATABASE_URL over it", () => {
    const plain = "postgres://helexa@localhost:5432/plain";
    const helexa = "postgresql://helexa@localhost:5432/helexa";
    assert.equal(load({ environment: { DATABASE_URL: plain } }).config.database.url, plain);
    assert.equal(
      load({ environment: { DATABASE_URL: plain, HELEXA_DATABASE_URL: helexa } }).config.database.url,
      helexa,
    );
  });

  it("treats an empty environment variable as unset", () => {
    const { config } = load({ file: { neuron: { threads: 3 } }, environment: { HELEXA_NEURON_THREADS: "" } });
    assert.equal(config.neuron.threads, 3);
  });
});

describe("loadConfig coercion", () => {
  it("reads numbers, booleans and socket addresses from strings", () => {
    const { config } = load({
      environment: {
        HELEXA_LEDGER_OPERATOR_SHARE: "0.85",
        HELEXA_LEDGER_INITIAL_CREDITS: "0",
        HELEXA_LOG_JSON: "yes",
        HELEXA_CORTEX_ORCHESTRATOR_SOCKET: "8040",
        HELEXA_ICE_PORT_RANGE_BEGIN: "50000",
        HELEXA_ICE_PORT_RANGE_END: "50100",
      },
      file: { neuron: { apiSocket: 8061 } },
    });
    assert.equal(config.ledger.operatorShare, 0.85);
    assert.equal(config.ledger.initialCredits, 0);
    assert.equal(config.log.json, true);
    assert.equal(config.cortex.orchestratorSocket, "0.0.0.0:8040");
    assert.equal(config.neuron.apiSocket, "0.0.0.0:8061");
    assert.equal(config.ice.portRangeBegin, 50000);
    assert.equal(config.ice.portRangeEnd, 50100);
  });

  it("reads ICE servers as comma-separated URLs or as JSON", () => {
    const listed = load({
      environment: { HELEXA_ICE_SERVERS: "stun:stun.example.com:3478, turn:turn.example.com" },
    });
    assert.deepEqual(listed.config.ice.servers, [
      { urls: "stun:stun.example.com:3478" },
      { urls: "turn:turn.example.com" },
    ]);
    const json = [{ urls: ["turns:turn.example.com:443"], username: "user", credential: "secret" }];
    assert.deepEqual(load({ flags: { "ice.servers": JSON.stringify(json) } }).config.ice.servers, json);
    assert.deepEqual(load({ file: { ice: { servers: json } } }).config.ice.servers, json);
  });
});

describe("loadConfig errors", () => {
  it("names the environment variable a bad value came from", () => {
    assertConfigError(
      () => load({ environment: { HELEXA_NEURON_THREADS: "abc" } }),
      'invalid config: neuron.threads (from HELEXA_NEURON_THREADS) must be a positive integer, got "abc"',
    );
  });

  it("names the flag a bad value came from, over a good one below", () => {
    assertConfigError(
      () =>
        load({
          environment: { HELEXA_CORTEX_GATEWAY_SOCKET: ":8080" },
          flags: { "cortex.gateway-socket": "x:0" },
        }),
      'invalid config: cortex.gatewaySocket (from flag --cortex.gateway-socket) must be host:port with a port from 1 to 65535 (or :port, or a bare port), got "x:0"',
    );
  });

  it("names the config file a bad value came from", () => {
    const home = makeHome({ ledger: { operatorShare: 1.5 } });
    const error = assertConfigError(
      () => loadConfig({ environment: { HELEXA_HOME: home } }),
      `invalid config: ledger.operatorShare (from config file ${home}/config.json) must be a number from 0 to 1, got 1.5`,
    );
    assert.equal(error.key, "ledger.operatorShare");
    assert.equal(error.source, `config file ${home}/config.json`);
  });

  it("names a missing partner key without a source, and a bad flag over a good default", () => {
    assertConfigError(
      () => load({ environment: { HELEXA_ICE_PORT_RANGE_END: "100" } }),
      "invalid config: ice.portRangeBegin must be set when ice.portRangeEnd is",
    );
    const error = assertConfigError(
      () => load({ flags: { "ledger.initialCredits": undefined, "neuron.threads": -1 } }),
      "invalid config: neuron.threads (from flag --neuron.threads) must be a positive integer, got -1",
    );
    assert.equal(error.source, "flag --neuron.threads");
  });

  it("points inside a list at the entry that is wrong", () => {
    const home = makeHome({ ice: { servers: [{ urls: "stun:ok" }, { urls: "http://not-ice" }] } });
    assertConfigError(
      () => loadConfig({ environment: { HELEXA_HOME: home } }),
      `invalid config: ice.servers[1].urls (from config file ${home}/config.json) must be a stun:, stuns:, turn: or turns: URL, or a list of them`,
    );
  });

  it("never echoes a secret", () => {
    const error = assertConfigError(
      () => load({ environment: { DATABASE_URL: "mysql://root:hunter2@db/helexa" } }),
      "invalid config: database.url (from DATABASE_URL) must be a postgres:// or postgresql:// URL such as postgres://user:password@localhost:5432/helexa",
    );
    assert.ok(!error.message.includes("hunter2"));
  });

  it("rejects unknown keys in the file and in flags, suggesting the near one", () => {
    const home = makeHome({ neuron: { thread: 4 } });
    assertConfigError(
      () => loadConfig({ environment: { HELEXA_HOME: home } }),
      `invalid config: unknown key neuron.thread (from config file ${join(home, "config.json")}); did you mean neuron.threads?`,
    );
    assertConfigError(
      () => load({ flags: { "cortex.nonsense": 1 } }),
      "invalid config: unknown key cortex.nonsense (from flag --cortex.nonsense)",
    );
  });

  it("rejects a config file that is not JSON, not an object, or missing when named", () => {
    const home = makeHome();
    writeFileSync(join(home, "config.json"), "{ nope");
    assert.throws(
      () => loadConfig({ environment: { HELEXA_HOME: home } }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message.startsWith(
          `invalid config: config file ${join(home, "config.json")} is not valid JSON: `,
        ),
    );
    writeFileSync(join(home, "config.json"), "[1]");
    assertConfigError(
      () => loadConfig({ environment: { HELEXA_HOME: home } }),
      `invalid config: config file ${join(home, "config.json")} must hold a JSON object, got [1]`,
    );
    assertConfigError(
      () => loadConfig({ environment: { HELEXA_CONFIG: join(home, "absent.json") } }),
      `invalid config: config file ${join(home, "absent.json")} (from HELEXA_CONFIG) does not exist`,
    );
  });

  it("warns about unknown HELEXA_ variables instead of failing, with a suggestion", () => {
    const { warnings } = load({
      environment: { HELEXA_NEURON_THREAD: "4", HELEXA_WHATEVER: "1", PATH: "/bin" },
    });
    assert.deepEqual(warnings, [
      "unknown environment variable HELEXA_NEURON_THREAD is ignored; did you mean HELEXA_NEURON_THREADS?",
      "unknown environment variable HELEXA_WHATEVER is ignored",
    ]);
  });
});
