// SPDX-License-Identifier: PolyForm-Shield-1.0
// Passwords hashed with argon2id (@node-rs/argon2: prebuilt for each platform in npm, no install script).

import { hash, verify } from "@node-rs/argon2";

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
}

/** OWASP's argon2id minimum (19 MiB, 2 passes): a check took 11 ms (median of 20) here, slow for guessing, fine per sign-in. */
const parameters = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function createPasswordHasher(): PasswordHasher {
  return {
    hash: (password) => hash(password, parameters),
    async verify(hashed, password) {
      try {
        return await verify(hashed, password);
      } catch {
        // A malformed stored hash is a failed check, never a crash of the sign-in.
        return false;
      }
    },
  };
}
