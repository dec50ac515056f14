// SPDX-License-Identifier: PolyForm-Shield-1.0
// The account: profile and email verification, password change, signed-in sessions, sign out.

"use client";

import { changePasswordInputSchema } from "@helexa/protocol";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { signOut } from "next-auth/react";
import { type FormEvent, useState } from "react";
import { z } from "zod";
import { Card } from "../../components/card";
import { PasswordField } from "../../components/field";
import { QueryState } from "../../components/query-state";
import { SignedInPage } from "../../components/signed-in-page";
import { ErrorNote, SuccessNote } from "../../components/status";
import { type FieldErrors, fieldErrorsOf } from "../../lib/errors";
import { formatAgo, formatDate, formatDateTime } from "../../lib/format";
import type { Me } from "../../lib/types";
import { useTRPC } from "../providers";

export function AccountView() {
  return (
    <SignedInPage title="Account" actions={<SignOutButton />}>
      {(me) => (
        <>
          <Profile me={me} />
          {me.hasPassword ? <ChangePassword /> : <NoPassword />}
          <Sessions />
        </>
      )}
    </SignedInPage>
  );
}

function SignOutButton() {
  const queryClient = useQueryClient();
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      className="button"
      disabled={busy}
      onClick={async () => {
        setBusy(true);
        queryClient.clear();
        await signOut({ callbackUrl: "/" });
      }}
    >
      {busy ? "Signing out…" : "Sign out"}
    </button>
  );
}

function Profile({ me }: { me: Me }) {
  const trpc = useTRPC();
  const resend = useMutation(trpc.account.resendVerification.mutationOptions());
  return (
    <Card titleId="profile-title" title="Profile">
      <dl className="details">
        <div>
          <dt>Name</dt>
          <dd>{me.name}</dd>
        </div>
        <div>
          <dt>Email</dt>
          <dd>
            {me.email ?? "—"}{" "}
            {me.emailVerified ? (
              <span className="badge badge-ok">verified</span>
            ) : (
              <span className="badge badge-warn">not verified</span>
            )}
          </dd>
        </div>
        <div>
          <dt>Role</dt>
          <dd>{me.role === "admin" ? "Admin" : "User"}</dd>
        </div>
        <div>
          <dt>Member since</dt>
          <dd>{formatDate(me.createdAt)}</dd>
        </div>
      </dl>
      {me.emailVerified ? null : (
        <div className="stack">
          <p className="muted small">Check your inbox for the verification link, or send a new one.</p>
          <div>
            <button
              type="button"
              className="button"
              onClick={() => resend.mutate()}
              disabled={resend.isPending || resend.isSuccess}
            >
              {resend.isPending ? "Sending…" : resend.isSuccess ? "Sent" : "Resend verification email"}
            </button>
          </div>
          {resend.isSuccess ? (
            <SuccessNote>
              {resend.data.sent
                ? "A new verification link is on its way."
                : "Your email is verified already."}
            </SuccessNote>
          ) : null}
          {resend.isError ? <ErrorNote error={resend.error} /> : null}
        </div>
      )}
    </Card>
  );
}

function NoPassword() {
  return (
    <Card titleId="password-title" title="Password">
      <p className="muted">
        You sign in with GitHub or Google, so this account has no password. To add one, use{" "}
        <Link href="/reset-password">reset password</Link> with your email.
      </p>
    </Card>
  );
}

function ChangePassword() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [currentPassword, setCurrentPassword] = useState("");
  const [newPassword, setNewPassword] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const change = useMutation(
    trpc.account.changePassword.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.account.sessions.queryKey() }),
    }),
  );

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const parsed = changePasswordInputSchema.safeParse({ currentPassword, newPassword });
    if (!parsed.success) {
      setErrors(z.flattenError(parsed.error).fieldErrors);
      return;
    }
    setErrors({});
    change.mutate(parsed.data, {
      onSuccess: () => {
        setCurrentPassword("");
        setNewPassword("");
      },
      onError: (error) => setErrors(fieldErrorsOf(error)),
    });
  }

  return (
    <Card titleId="password-title" title="Change password">
      <form className="form form-narrow" onSubmit={submit} noValidate>
        <PasswordField
          id="current-password"
          label="Current password"
          autoComplete="current-password"
          error={errors.currentPassword?.[0]}
          value={currentPassword}
          onValueChange={setCurrentPassword}
        />
        <PasswordField
          id="new-password"
          label="New password"
          hint="At least 10 characters."
          autoComplete="new-password"
          error={errors.newPassword?.[0]}
          value={newPassword}
          onValueChange={setNewPassword}
        />
        {change.isError && Object.keys(errors).length === 0 ? <ErrorNote error={change.error} /> : null}
        {change.isSuccess ? (
          <SuccessNote>
            Password changed.{" "}
            {change.data.otherSessionsEnded > 0
              ? `Your other ${change.data.otherSessionsEnded === 1 ? "session was" : `${change.data.otherSessionsEnded} sessions were`} signed out; this one stays signed in.`
              : "Any other sessions were signed out; this one stays signed in."}
          </SuccessNote>
        ) : null}
        <div>
          <button type="submit" className="button button-primary" disabled={change.isPending}>
            {change.isPending ? "Changing…" : "Change password"}
          </button>
        </div>
      </form>
    </Card>
  );
}

/** "Firefox on Linux" from a user agent, or the user agent itself when it is not one we know. */
function describeAgent(agent: string | null): string {
  if (!agent) return "Unknown browser";
  const browser = /Edg\//.test(agent)
    ? "Edge"
    : /Firefox\//.test(agent)
      ? "Firefox"
      : /Chrome\//.test(agent)
        ? "Chrome"
        : /Safari\//.test(agent)
          ? "Safari"
          : /curl\//.test(agent)
            ? "curl"
            : null;
  const system = /Android/.test(agent)
    ? "Android"
    : /iPhone|iPad/.test(agent)
      ? "iOS"
      : /Windows/.test(agent)
        ? "Windows"
        : /Mac OS X|Macintosh/.test(agent)
          ? "macOS"
          : /Linux/.test(agent)
            ? "Linux"
            : null;
  if (!browser) return agent.length > 60 ? `${agent.slice(0, 57)}…` : agent;
  return system ? `${browser} on ${system}` : browser;
}

function Sessions() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const sessions = useQuery(trpc.account.sessions.queryOptions());
  const end = useMutation(
    trpc.account.endSession.mutationOptions({
      onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.account.sessions.queryKey() }),
    }),
  );

  return (
    <Card titleId="sessions-title" title="Signed-in sessions">
      <p className="muted small">
        Every browser signed in to this account. Sign out any you do not recognise.
      </p>
      <QueryState query={sessions} empty="No active sessions.">
        {(data) => (
          <ul className="session-list">
            {data.map((session) => (
              <li key={session.publicId} className="session-row">
                <div>
                  <strong>{describeAgent(session.userAgent)}</strong>{" "}
                  {session.current ? <span className="badge badge-ok">this browser</span> : null}
                  <p className="muted small">
                    {session.address ? `${session.address} · ` : ""}signed in{" "}
                    {formatDateTime(session.createdAt)} · last seen {formatAgo(session.lastSeenAt)}
                  </p>
                </div>
                {session.current ? null : (
                  <button
                    type="button"
                    className="button button-small"
                    disabled={end.isPending && end.variables?.publicId === session.publicId}
                    onClick={() => end.mutate({ publicId: session.publicId })}
                  >
                    Sign out
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
      </QueryState>
      {end.isError ? <ErrorNote error={end.error} /> : null}
    </Card>
  );
}
