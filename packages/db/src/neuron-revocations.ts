// SPDX-License-Identifier: PolyForm-Shield-1.0
// Neuron revocations told to every cortex sharing the database: a revoked or rotated token, a suspended operator.

import { sql } from "drizzle-orm";
import { z } from "zod";
import type { NotificationSubscription } from "./database-notifications.js";
import type { Database, DrizzleExecutor } from "./open-database.js";

export const neuronRevocationChannel = "helexa_neuron_revocations";

const id = z.string().min(1).max(200);

export const neuronRevocationSchema = z.union([
  z.object({ reason: z.enum(["revoked", "token_rotated"]), neuronId: id }),
  /** Every neuron of the account: sent once, whatever their number (a notification holds 8,000 bytes). */
  z.object({ reason: z.literal("account_suspended"), accountId: id }),
]);
export type NeuronRevocation = z.infer<typeof neuronRevocationSchema>;

/**
 * Sent with `pg_notify`: run inside the transaction that makes the change, it goes out only when that
 * commits, so a revocation rolled back is never announced.
 */
export async function announceNeuronRevocation(
  executor: DrizzleExecutor,
  revocation: NeuronRevocation,
): Promise<void> {
  await executor.execute(sql`select pg_notify(${neuronRevocationChannel}, ${JSON.stringify(revocation)})`);
}

export interface NeuronRevocationHandlers {
  onRevocation(revocation: NeuronRevocation): void;
  /**
   * The database connection that listens was lost and is back: revocations made meanwhile were not
   * heard, so every connected neuron's token needs checking again (`NeuronStore.findRevokedNeurons`).
   */
  onMissedRevocations(): void;
  /** A payload on the channel that is not a revocation (another version's, or someone's mistake). */
  onInvalidPayload?(payload: string): void;
}

/** Follows the revocations made by any process on the database, from the moment it resolves. */
export function watchNeuronRevocations(
  database: Pick<Database, "notifications">,
  handlers: NeuronRevocationHandlers,
): Promise<NotificationSubscription> {
  return database.notifications.listen(neuronRevocationChannel, {
    onNotification(payload) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(payload);
      } catch {
        handlers.onInvalidPayload?.(payload);
        return;
      }
      const revocation = neuronRevocationSchema.safeParse(parsed);
      if (revocation.success) handlers.onRevocation(revocation.data);
      else handlers.onInvalidPayload?.(payload);
    },
    onReconnect: () => handlers.onMissedRevocations(),
  });
}
