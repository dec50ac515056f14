// SPDX-License-Identifier: PolyForm-Shield-1.0
// `helexa admin create`: make an account the portal's admin, from the machine cortex's database is on.

import { join } from "node:path";
import { createInterface } from "node:readline";
import { createPasswordHasher } from "@helexa/auth";
import { createAccountStore, openDatabase } from "@helexa/db";
import { emailSchema, passwordSchema } from "@helexa/protocol";
import { prepareCommand } from "../context.js";
import { UsageError } from "../flags.js";

const summary = `Creates an admin account for the portal, or makes an existing account an admin. The password
is asked for (twice), or read from standard input with --password-stdin. The account can sign in
at once; its email counts as verified.`;

export async function runAdminCommand(argv: string[]): Promise<void> {
  const [subcommand, ...rest] = argv;
  if (subcommand !== "create") {
    throw new UsageError(
      `unknown admin command ${JSON.stringify(subcommand ?? "")}: try helexa admin create --help`,
    );
  }
  const context = prepareCommand({ command: "admin create", argv: rest, summary });
  if (!context) return;
  const { config, commandFlags } = context;
  const email = emailSchema.safeParse(commandFlags.email ?? "");
  if (!email.success)
    throw new UsageError("--email is required: helexa admin create --email ada@example.com");
  const password = commandFlags["password-stdin"] ? await readStdin() : await askPassword();
  const checked = passwordSchema.safeParse(password);
  if (!checked.success)
    throw new UsageError(`password: ${checked.error.issues[0]?.message ?? "not accepted"}`);

  const database = await openDatabase(
    config.database.url ? { url: config.database.url } : { dataDir: join(config.home, "db") },
  );
  try {
    const accounts = createAccountStore({ db: database.db });
    await accounts.ensurePlatformAccounts();
    const passwordHash = await createPasswordHasher().hash(checked.data);
    const existing = await accounts.findAccountByEmail(email.data);
    if (existing) {
      await accounts.setRole({ accountId: existing.id, role: "admin" });
      await accounts.setPasswordHash({ accountId: existing.id, passwordHash });
      await accounts.markEmailVerified(existing.id);
      process.stdout.write(`${email.data} is now an admin; its password was replaced.\n`);
    } else {
      await accounts.createAccount({
        email: email.data,
        name: email.data.split("@")[0] ?? email.data,
        role: "admin",
        passwordHash,
        emailVerifiedAt: new Date(),
      });
      process.stdout.write(`created admin ${email.data}; sign in to the portal with it.\n`);
    }
  } finally {
    await database.close();
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

async function askPassword(): Promise<string> {
  if (!process.stdin.isTTY) throw new UsageError("no terminal to ask the password on: use --password-stdin");
  const first = await askHidden("password: ");
  const second = await askHidden("again: ");
  if (first !== second) throw new UsageError("the two passwords differ");
  return first;
}

function askHidden(prompt: string): Promise<string> {
  return new Promise((resolve) => {
    const readline = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
    // Echo nothing of what is typed: readline writes through this.
    const output = readline as unknown as { _writeToOutput: (text: string) => void };
    process.stdout.write(prompt);
    output._writeToOutput = () => {};
    readline.question("", (answer) => {
      readline.close();
      process.stdout.write("\n");
      resolve(answer);
    });
  });
}
