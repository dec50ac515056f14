// SPDX-License-Identifier: PolyForm-Shield-1.0
// The sign-in form: email and password through next-auth, and GitHub or Google where configured.

"use client";

import { useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { signIn } from "next-auth/react";
import { type FormEvent, useState } from "react";
import { EmailField, PasswordField } from "../../components/field";
import { ErrorNote, SuccessNote } from "../../components/status";
import { safeNext } from "../../lib/safe-next";
import { useTRPC } from "../providers";

const refusedMessage = "Email or password is not right, or too many attempts: wait a few minutes";

/** next-auth's ?error= codes, when it sends the browser back here. */
function pageErrorMessage(code: string): string {
  switch (code) {
    case "CredentialsSignin":
      return refusedMessage;
    case "OAuthNoEmail":
      return "That provider did not give an email address, so no account could be matched. Use another way to sign in.";
    case "Suspended":
      return "This account is suspended. Contact the people who run this helexa.";
    case "OAuthAccountNotLinked":
      return "This email is signed in another way already: use that, then try again.";
    case "SessionRequired":
      return "Sign in to continue.";
    default:
      return "Signing in did not work. Try again.";
  }
}

const providerNames: Record<string, string> = { github: "GitHub", google: "Google" };

export function SignInForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const params = useSearchParams();
  const next = safeNext(params.get("next"));
  const providers = useQuery(trpc.account.providers.queryOptions());
  const [email, setEmail] = useState(params.get("email") ?? "");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(() => {
    const code = params.get("error");
    return code ? pageErrorMessage(code) : null;
  });
  const [missing, setMissing] = useState<{ email?: string; password?: string }>({});
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const empty = {
      ...(email.trim() ? {} : { email: "enter your email" }),
      ...(password ? {} : { password: "enter your password" }),
    };
    setMissing(empty);
    if (Object.keys(empty).length > 0) return;
    setBusy(true);
    setError(null);
    try {
      const result = await signIn("credentials", { email: email.trim(), password, redirect: false });
      if (!result || result.error || !result.ok) {
        setError(refusedMessage);
        setBusy(false);
        return;
      }
    } catch {
      setError("Could not reach helexa: check your connection and try again.");
      setBusy(false);
      return;
    }
    await queryClient.resetQueries();
    router.push(next);
  }

  const oauth = providers.data?.oauth ?? [];

  return (
    <div className="stack">
      {params.get("created") ? <SuccessNote>Your account is ready. Sign in to continue.</SuccessNote> : null}
      <form className="card form" onSubmit={submit} noValidate>
        <EmailField id="signin-email" error={missing.email} value={email} onValueChange={setEmail} />
        <PasswordField
          id="signin-password"
          name="password"
          autoComplete="current-password"
          error={missing.password}
          value={password}
          onValueChange={setPassword}
        />
        {error ? <ErrorNote>{error}</ErrorNote> : null}
        <button type="submit" className="button button-primary button-block" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p className="small split">
          <Link href="/reset-password">Forgot your password?</Link>
          <span>
            New here?{" "}
            <Link href={`/signup${next !== "/chat" ? `?next=${encodeURIComponent(next)}` : ""}`}>
              Sign up
            </Link>
          </span>
        </p>
      </form>
      {oauth.length > 0 ? (
        <div className="card oauth">
          <p className="muted small">Or sign in with</p>
          <div className="actions">
            {oauth.map((provider) => (
              <button
                key={provider}
                type="button"
                className="button"
                onClick={() => signIn(provider, { callbackUrl: next })}
              >
                {providerNames[provider] ?? provider}
              </button>
            ))}
          </div>
        </div>
      ) : null}
    </div>
  );
}
