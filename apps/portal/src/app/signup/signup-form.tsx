// SPDX-License-Identifier: PolyForm-Shield-1.0
// The sign-up form: checks the fields here and on the server, then signs the new account in.

"use client";

import { signUpInputSchema } from "@helexa/protocol";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { signIn } from "next-auth/react";
import { type FormEvent, useState } from "react";
import { z } from "zod";
import { EmailField, InputField, PasswordField } from "../../components/field";
import { ErrorNote } from "../../components/status";
import { errorCode, type FieldErrors, fieldErrorsOf } from "../../lib/errors";
import { safeNext } from "../../lib/safe-next";
import { useTRPC } from "../providers";

export function SignUpForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [problem, setProblem] = useState<string | null>(null);
  const [signingIn, setSigningIn] = useState(false);
  const signUp = useMutation(trpc.account.signUp.mutationOptions());

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setProblem(null);
    const parsed = signUpInputSchema.safeParse({ name, email, password });
    if (!parsed.success) {
      setErrors(z.flattenError(parsed.error).fieldErrors);
      return;
    }
    setErrors({});
    try {
      await signUp.mutateAsync(parsed.data);
    } catch (error) {
      setErrors(fieldErrorsOf(error));
      setProblem(
        errorCode(error) === "CONFLICT"
          ? "An account with this email exists already: sign in, or reset its password."
          : null,
      );
      return;
    }
    setSigningIn(true);
    const result = await signIn("credentials", { email: parsed.data.email, password, redirect: false });
    if (!result || result.error) {
      setSigningIn(false);
      router.push(`/signin?created=1&email=${encodeURIComponent(parsed.data.email)}`);
      return;
    }
    await queryClient.resetQueries();
    router.push(safeNext(new URLSearchParams(window.location.search).get("next")));
  }

  const busy = signUp.isPending || signingIn;
  const conflict = errorCode(signUp.error) === "CONFLICT";

  return (
    <form className="card form" onSubmit={submit} noValidate aria-describedby="signup-problem">
      <InputField
        id="signup-name"
        label="Name"
        error={errors.name?.[0]}
        name="name"
        autoComplete="name"
        required
        value={name}
        onValueChange={setName}
      />
      <EmailField id="signup-email" error={errors.email?.[0]} value={email} onValueChange={setEmail} />
      <PasswordField
        id="signup-password"
        name="password"
        hint="At least 10 characters."
        autoComplete="new-password"
        minLength={10}
        error={errors.password?.[0]}
        value={password}
        onValueChange={setPassword}
      />
      <div id="signup-problem">
        {problem ? (
          <ErrorNote>
            {problem}{" "}
            {conflict ? (
              <>
                <Link href="/signin">Sign in</Link> · <Link href="/reset-password">Reset password</Link>
              </>
            ) : null}
          </ErrorNote>
        ) : signUp.isError && Object.keys(errors).length === 0 ? (
          <ErrorNote error={signUp.error} />
        ) : null}
      </div>
      <button type="submit" className="button button-primary button-block" disabled={busy}>
        {signingIn ? "Signing you in…" : signUp.isPending ? "Creating account…" : "Create account"}
      </button>
      <p className="muted small">
        Have an account already? <Link href="/signin">Sign in</Link>
      </p>
    </form>
  );
}
