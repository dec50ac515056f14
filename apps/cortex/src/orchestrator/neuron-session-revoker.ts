// SPDX-License-Identifier: PolyForm-Shield-1.0
// Closes the sessions of neurons whose token no longer admits them, also those still between hello and registration.

import { HelexaError } from "@helexa/protocol";
import type { WebSocket } from "ws";
import type { NeuronSession } from "./neuron-session.js";

/** A neuron's token revoked or replaced, or every neuron of a suspended operator account. */
export type NeuronRevocationMatch = { reason: string } & ({ neuronId: string } | { accountId: string });

interface Admitted {
  neuronId: string;
  operatorAccountId: string | null;
}

/** A revocation heard while a token was being checked, or every one that may have been missed. */
type Heard = NeuronRevocationMatch | "anything";

const messages: Record<string, string> = {
  revoked: "this neuron's token was revoked",
  token_rotated: "this neuron's token was replaced by a new one: start it with the new token",
  account_suspended: "this neuron's operator account is suspended",
};

function matches(revocation: NeuronRevocationMatch, neuron: Admitted): boolean {
  return "neuronId" in revocation
    ? revocation.neuronId === neuron.neuronId
    : revocation.accountId === neuron.operatorAccountId;
}

export class NeuronSessionRevoker {
  /** Every session from its welcome to its close, registered or not yet. */
  readonly #live = new Map<NeuronSession, { socket: WebSocket; credential: string | undefined }>();
  readonly #checking = new Set<Heard[]>();
  readonly #closeCode: number;

  /** `closeCode`: the WebSocket close code of a refused token, after which a neuron stops dialling. */
  constructor(options: { closeCode: number }) {
    this.#closeCode = options.closeCode;
  }

  /**
   * Call before a token is checked. A revocation heard before the check's answer may have committed
   * after the check read the token: `revokedMeanwhile` says the answer needs asking again.
   */
  beginCheck(): { revokedMeanwhile(neuron: Admitted): boolean; end(): void } {
    const heard: Heard[] = [];
    this.#checking.add(heard);
    return {
      revokedMeanwhile: (neuron) => {
        const hit = heard.some((revocation) => revocation === "anything" || matches(revocation, neuron));
        heard.length = 0;
        return hit;
      },
      end: () => this.#checking.delete(heard),
    };
  }

  /** `credential`: what the store gave with the neuron's identity, to check its token again later. */
  track(session: NeuronSession, socket: WebSocket, credential: string | undefined): void {
    this.#live.set(session, { socket, credential });
  }

  untrack(session: NeuronSession): void {
    this.#live.delete(session);
  }

  /** Closes the matching sessions now, each told why with a typed error; returns how many. */
  revoke(revocation: NeuronRevocationMatch): number {
    for (const heard of this.#checking) heard.push(revocation);
    let closed = 0;
    for (const [session, { socket }] of [...this.#live]) {
      if (!matches(revocation, session)) continue;
      this.#close(session, socket, messages[revocation.reason] ?? "this neuron's token no longer admits it");
      closed += 1;
    }
    return closed;
  }

  /**
   * Revocations may have gone unheard (the database connection that listens was down): tokens being
   * checked now are checked again. The caller re-checks the connected ones (`credentials`).
   */
  missedRevocations(): void {
    for (const heard of this.#checking) heard.push("anything");
  }

  /** The connected neurons with the credential each joined with (those the store gave one). */
  credentials(): Array<{ neuronId: string; credential: string }> {
    const connected: Array<{ neuronId: string; credential: string }> = [];
    for (const [session, { credential }] of this.#live) {
      if (credential !== undefined) connected.push({ neuronId: session.neuronId, credential });
    }
    return connected;
  }

  #close(session: NeuronSession, socket: WebSocket, message: string): void {
    session.sendSession({ type: "error", error: new HelexaError("unauthenticated", message).toWire() });
    // Closed with the code of a refused token first, so the session's own close (code 1000) does not.
    if (socket.readyState === socket.OPEN) {
      socket.close(this.#closeCode, message.slice(0, 120));
    }
    // Ends its jobs (neuron_lost) and takes it out of the registry: placement forgets it at once.
    session.close(message);
  }
}
