// SPDX-License-Identifier: PolyForm-Shield-1.0
// Without a token: the form that emails a reset link. With ?token=: the form that sets the new password.

"use client";

import { requestPasswordResetInputSchema, resetPasswordInputSchema } from "@helexa/protocol";
import { useMutation } from "@tanstack/react-query";
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { type FormEvent, useState } from "react";
import { z } from "zod";
import { EmailField, PasswordField } from "../../components/field";
import { ErrorNote, SuccessNote } from "../../components/status";
import { errorMessage, type FieldErrors, fieldErrorsOf } from "../../lib/errors";
import { useTRPC } from "../providers";

export function ResetPassword() {
  const token = useSearchParams().get("token");
  return token ? <NewPasswordForm token={token} /> : <RequestLinkForm />;
}

function RequestLinkForm() {
  const trpc = useTRPC();
  const [email, setEmail] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const request = useMutation(trpc.account.requestPasswordReset.mutationOptions());

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const parsed = requestPasswordResetInputSchema.safeParse({ email });
    if (!parsed.success) {
      setErrors(z.flattenError(parsed.error).fieldErrors);
      return;
    }
    setErrors({});
    request.mutate(parsed.data, { onError: (error) => setErrors(fieldErrorsOf(error)) });
  }

  if (request.isSuccess) {
    return (
      <div className="stack">
        <SuccessNote>
          If an account uses <strong>{email.trim().toLowerCase()}</strong>, a link to reset its password is on
          its way. It works once and expires soon.
        </SuccessNote>
        <p>
          <Link href="/signin">Back to sign in</Link>
        </p>
      </div>
    );
  }

  return (
    <form className="card form" onSubmit={submit} noValidate>
      <p className="muted">
        Enter your account&apos;s email and we will send you a link to choose a new password.
      </p>
      <EmailField id="reset-email" error={errors.email?.[0]} value={email} onValueChange={setEmail} />
      {request.isError && !errors.email ? <ErrorNote error={request.error} /> : null}
      <button type="submit" className="button button-primary button-block" disabled={request.isPending}>
        {request.isPending ? "Sending…" : "Send reset link"}
      </button>
      <p className="small">
        <Link href="/signin">Back to sign in</Link>
      </p>
    </form>
  );
}

function NewPasswordForm({ token }: { token: string }) {
  const trpc = useTRPC();
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const reset = useMutation(trpc.account.resetPassword.mutationOptions());

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const parsed = resetPasswordInputSchema.safeParse({ token, password });
    const found: FieldErrors = parsed.success ? {} : z.flattenError(parsed.error).fieldErrors;
    if (password !== confirm) found.confirm = ["the two passwords are not the same"];
    setErrors(found);
    if (!parsed.success || Object.keys(found).length > 0) return;
    reset.mutate(parsed.data, { onError: (error) => setErrors(fieldErrorsOf(error)) });
  }

  if (reset.isSuccess) {
    return (
      <div className="stack">
        <SuccessNote>
          Your password is changed, and every session that was signed in is signed out.
        </SuccessNote>
        <p>
          <Link href="/signin" className="button button-primary">
            Sign in with the new password
          </Link>
        </p>
      </div>
    );
  }

  return (
    <form className="card form" onSubmit={submit} noValidate>
      <PasswordField
        id="reset-password"
        name="password"
        label="New password"
        hint="At least 10 characters."
        autoComplete="new-password"
        error={errors.password?.[0]}
        value={password}
        onValueChange={setPassword}
      />
      <PasswordField
        id="reset-confirm"
        name="confirm"
        label="New password again"
        autoComplete="new-password"
        error={errors.confirm?.[0]}
        value={confirm}
        onValueChange={setConfirm}
      />
      {reset.isError ? (
        <ErrorNote>
          {errorMessage(reset.error)}{" "}
          {errors.password ? null : (
            <>
              If the link expired, <Link href="/reset-password">ask for a new one</Link>.
            </>
          )}
        </ErrorNote>
      ) : null}
      <button type="submit" className="button button-primary button-block" disabled={reset.isPending}>
        {reset.isPending ? "Saving…" : "Set new password"}
      </button>
    </form>
  );
}
