// SPDX-License-Identifier: PolyForm-Shield-1.0
// A tRPC or network error as words a person understands, and a form's per-field messages.

import { TRPCClientError } from "@trpc/client";

export type FieldErrors = Partial<Record<string, string[] | undefined>>;

interface ErrorData {
  code?: string;
  httpStatus?: number;
  fieldErrors?: FieldErrors | null;
  helexaCode?: string | null;
}

function dataOf(error: unknown): ErrorData | null {
  if (error instanceof TRPCClientError) return (error.data ?? null) as ErrorData | null;
  return null;
}

/** tRPC's error code ("CONFLICT", "UNAUTHORIZED", ...), or null for an error that is not tRPC's. */
export function errorCode(error: unknown): string | null {
  return dataOf(error)?.code ?? null;
}

/** HelexaError's code when the server's error was one ("insufficient_quota", ...). */
export function helexaCode(error: unknown): string | null {
  return dataOf(error)?.helexaCode ?? null;
}

/** The server's message for each field of a form's input, when it refused the input. */
export function fieldErrorsOf(error: unknown): FieldErrors {
  return dataOf(error)?.fieldErrors ?? {};
}

function sentence(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return trimmed;
  const capital = trimmed[0]!.toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** One line to show for any error a call can end with. */
export function errorMessage(error: unknown): string {
  if (error == null) return "Something went wrong. Try again.";
  const data = dataOf(error);
  if (data) {
    if (data.fieldErrors && Object.keys(data.fieldErrors).length > 0) {
      return "Some fields need another look: see the messages beside them.";
    }
    if (data.code === "UNAUTHORIZED") return "Sign in to continue.";
    if (data.code === "INTERNAL_SERVER_ERROR") return "The server hit a problem. Try again in a moment.";
  }
  if (error instanceof TRPCClientError) {
    if (!data && /fetch|network|load failed/i.test(error.message)) {
      return "Could not reach helexa: check your connection and try again.";
    }
    return sentence(error.message);
  }
  if (error instanceof Error) {
    if (error.name === "AbortError") return "Stopped.";
    return sentence(error.message);
  }
  return sentence(String(error));
}
