// SPDX-License-Identifier: PolyForm-Shield-1.0
// First start of `helexa up`: an admin account, an API key with credits and a neuron token, kept for later starts.

import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { createAccountStore, createApiKeyStore, createNeuronStore, type Database, Ledger } from "@helexa/db";
import { z } from "zod";

const credentialsSchema = z.object({
  accountId: z.string(),
  apiKey: z.string(),
  neuronToken: z.string(),
  /** Signs the portal's session cookies; added on the first start that serves the portal. */
  portalAuthSecret: z.string().min(32).optional(),
});
export type LocalCredentials = z.infer<typeof credentialsSchema>;

export interface LocalFabricOptions {
  database: Database;
  /**
   * Where the key and token are kept in plain text for the next start (mode 0600, in the user's own
   * helexa home); the database holds only their hashes.
   */
  credentialsFile: string;
  /** Micro-credits granted to the key's account on first start. */
  initialCredits: number;
}

export async function ensureLocalFabric(
  options: LocalFabricOptions,
): Promise<LocalCredentials & { portalAuthSecret: string; created: boolean }> {
  const { db } = options.database;
  const apiKeys = createApiKeyStore({ db });
  const neurons = createNeuronStore({ db });
  try {
    const saved = await readCredentials(options.credentialsFile);
    if (saved) {
      const [key, neuron] = await Promise.all([
        apiKeys.verifyApiKey(saved.apiKey),
        neurons.verifyNeuronToken(saved.neuronToken),
      ]);
      if (key && neuron) {
        if (saved.portalAuthSecret)
          return { ...saved, portalAuthSecret: saved.portalAuthSecret, created: false };
        const portalAuthSecret = newSecret();
        await writeCredentials(options.credentialsFile, { ...saved, portalAuthSecret });
        return { ...saved, portalAuthSecret, created: false };
      }
    }

    const accounts = createAccountStore({ db });
    await accounts.ensurePlatformAccounts();
    // A service account with no sign-in: it owns the key and the neuron `up` prints. The first person to
    // sign up in the portal becomes the admin.
    const account = await accounts.createAccount({ name: "local operator", role: "user" });
    const { key } = await apiKeys.createApiKey({ accountId: account.id, name: "helexa up" });
    const { token } = await neurons.registerNeuron({ accountId: account.id, name: "local neuron" });
    const ledger = new Ledger({ db });
    if (options.initialCredits > 0) {
      await ledger.grantCredits({
        accountId: account.id,
        amount: options.initialCredits,
        idempotencyKey: `up-initial-grant:${account.id}`,
        description: "credits for the key helexa up created",
      });
    }
    await ledger.close();
    const credentials = {
      accountId: account.id,
      apiKey: key,
      neuronToken: token,
      portalAuthSecret: newSecret(),
    };
    await writeCredentials(options.credentialsFile, credentials);
    return { ...credentials, created: true };
  } finally {
    await apiKeys.close();
    await neurons.close();
  }
}

function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

async function readCredentials(path: string): Promise<LocalCredentials | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return null;
  }
  try {
    const parsed = credentialsSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

async function writeCredentials(path: string, credentials: LocalCredentials): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}
