// SPDX-License-Identifier: PolyForm-Shield-1.0
// tRPC's one instance for the portal: the context, the error shape, and who may call what.

import { HelexaError } from "@helexa/protocol";
import { initTRPC, TRPCError } from "@trpc/server";
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server/rpc";
import superjson from "superjson";
import { z } from "zod";
import type { PortalContext } from "./context.js";

const t = initTRPC.context<PortalContext>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    // An unexpected failure's text (a SQL error, a stack) is for cortex's log, not for the browser.
    const hidden = error.code === "INTERNAL_SERVER_ERROR" && !HelexaError.is(cause);
    return {
      ...shape,
      message: hidden
        ? "something went wrong on our side; try again, and tell us if it persists"
        : shape.message,
      data: {
        ...shape.data,
        // A form shows each field's own message beside it.
        fieldErrors: cause instanceof z.ZodError ? z.flattenError(cause).fieldErrors : null,
        helexaCode: HelexaError.is(cause) ? cause.code : null,
      },
    };
  },
});

/** HelexaError's codes as tRPC's, so a store's typed error reaches the browser as the right kind. */
const trpcCodeOf: Partial<Record<HelexaError["code"], TRPC_ERROR_CODE_KEY>> = {
  invalid_request: "BAD_REQUEST",
  invalid_api_key: "UNAUTHORIZED",
  unauthenticated: "UNAUTHORIZED",
  insufficient_quota: "PAYMENT_REQUIRED",
  permission_denied: "FORBIDDEN",
  model_not_found: "NOT_FOUND",
  not_found: "NOT_FOUND",
  rate_limited: "TOO_MANY_REQUESTS",
  no_capacity: "SERVICE_UNAVAILABLE",
  timeout: "TIMEOUT",
};

export function toTRPCError(error: unknown): unknown {
  if (!HelexaError.is(error)) return error;
  return new TRPCError({
    code: trpcCodeOf[error.code] ?? "INTERNAL_SERVER_ERROR",
    message: error.message,
    cause: error,
  });
}

const helexaErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && HelexaError.is(result.error.cause)) {
    const mapped = toTRPCError(result.error.cause);
    if (mapped instanceof TRPCError) return { ...result, error: mapped };
  }
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(helexaErrors);

/** Signed in, with a session that has not been ended: `ctx.session` is set. */
export const protectedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.session) throw new TRPCError({ code: "UNAUTHORIZED", message: "sign in to continue" });
  return next({ ctx: { ...ctx, session: ctx.session } });
});

export const adminProcedure = protectedProcedure.use(({ ctx, next }) => {
  if (ctx.session.account.role !== "admin") {
    throw new TRPCError({ code: "FORBIDDEN", message: "only an admin may do this" });
  }
  return next();
});
