// SPDX-License-Identifier: PolyForm-Shield-1.0
// The account router: who am I, sign up, verify email, change or reset the password, sessions.

import {
  changePasswordInputSchema,
  requestPasswordResetInputSchema,
  resetPasswordInputSchema,
  signUpInputSchema,
  verifyEmailInputSchema,
} from "@helexa/protocol";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { protectedProcedure, publicProcedure, router } from "../trpc.js";

export const accountRouter = router({
  /** The signed-in account, or null: pages use it to decide what to show. */
  me: publicProcedure.query(({ ctx }) => {
    const account = ctx.session?.account;
    if (!account) return null;
    return {
      id: account.id,
      email: account.email,
      name: account.name,
      role: account.role,
      emailVerified: account.emailVerifiedAt !== null,
      hasPassword: account.passwordHash !== null,
      createdAt: account.createdAt,
    };
  }),

  providers: publicProcedure.query(({ ctx }) => ({ oauth: ctx.services.oauthProviders })),

  signUp: publicProcedure.input(signUpInputSchema).mutation(async ({ ctx, input }) => {
    const { services } = ctx;
    const conflict = () =>
      new TRPCError({
        code: "CONFLICT",
        message: "an account with this email exists already: sign in, or reset its password",
      });
    if (await services.accounts.findAccountByEmail(input.email)) throw conflict();
    const passwordHash = await services.passwords.hash(input.password);
    const account = await services.accounts
      .createAccountFirstIsAdmin({ email: input.email, name: input.name, passwordHash })
      .catch(async (error: unknown) => {
        // Two sign-ups with one email at once (a double click): the unique email index lets one in.
        if (await services.accounts.findAccountByEmail(input.email)) throw conflict();
        throw error;
      });
    await services.mail.sendVerification(account);
    return { accountId: account.id, role: account.role };
  }),

  verifyEmail: publicProcedure.input(verifyEmailInputSchema).mutation(async ({ ctx, input }) => {
    const accountId = await ctx.services.auth.consumeEmailToken({
      token: input.token,
      purpose: "verify_email",
    });
    if (!accountId) {
      throw new TRPCError({ code: "BAD_REQUEST", message: "this link has expired or was used already" });
    }
    await ctx.services.accounts.markEmailVerified(accountId);
    return { verified: true };
  }),

  resendVerification: protectedProcedure.mutation(async ({ ctx }) => {
    if (ctx.session.account.emailVerifiedAt) return { sent: false };
    await ctx.services.mail.sendVerification(ctx.session.account);
    return { sent: true };
  }),

  changePassword: protectedProcedure.input(changePasswordInputSchema).mutation(async ({ ctx, input }) => {
    const { account, sessionId } = ctx.session;
    const { passwords, accounts, auth } = ctx.services;
    if (!account.passwordHash || !(await passwords.verify(account.passwordHash, input.currentPassword))) {
      throw new TRPCError({ code: "BAD_REQUEST", message: "the current password is not right" });
    }
    await accounts.setPasswordHash({
      accountId: account.id,
      passwordHash: await passwords.hash(input.newPassword),
    });
    // Whoever else knew the old password is signed out now; this browser stays in.
    const ended = await auth.endAccountSessions({ accountId: account.id, exceptSessionId: sessionId });
    return { otherSessionsEnded: ended };
  }),

  /** Always answers the same, so it cannot tell anyone which emails have accounts. */
  requestPasswordReset: publicProcedure
    .input(requestPasswordResetInputSchema)
    .mutation(async ({ ctx, input }) => {
      const account = await ctx.services.accounts.findAccountByEmail(input.email);
      if (account && !account.suspendedAt) await ctx.services.mail.sendPasswordReset(account);
      return { sent: true };
    }),

  resetPassword: publicProcedure.input(resetPasswordInputSchema).mutation(async ({ ctx, input }) => {
    const { auth, accounts, passwords } = ctx.services;
    const accountId = await auth.consumeEmailToken({ token: input.token, purpose: "reset_password" });
    if (!accountId) {
      throw new TRPCError({ code: "BAD_REQUEST", message: "this link has expired or was used already" });
    }
    await accounts.setPasswordHash({ accountId, passwordHash: await passwords.hash(input.password) });
    // The reset link came by email, so the email is verified too.
    await accounts.markEmailVerified(accountId);
    await auth.endAccountSessions({ accountId });
    return { reset: true };
  }),

  sessions: protectedProcedure.query(async ({ ctx }) => {
    const sessions = await ctx.services.auth.listSessions(ctx.session.account.id);
    return sessions.map((session) => ({ ...session, current: session.publicId === ctx.session.publicId }));
  }),

  /** Signs out another browser of this account, named by the public id the session list shows. */
  endSession: protectedProcedure
    .input(z.object({ publicId: z.string().min(1).max(200) }))
    .mutation(async ({ ctx, input }) => {
      const ended = await ctx.services.auth.endSessionByPublicId({
        accountId: ctx.session.account.id,
        publicId: input.publicId,
      });
      if (!ended) throw new TRPCError({ code: "NOT_FOUND", message: "no such session on this account" });
      return { ended: true };
    }),
});
