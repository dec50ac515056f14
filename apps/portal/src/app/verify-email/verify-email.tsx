// SPDX-License-Identifier: PolyForm-Shield-1.0
// Uses the emailed token once, on arrival, and says whether the email is verified now.

"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useEffect, useRef } from "react";
import { ErrorNote, Loading, SuccessNote } from "../../components/status";
import { useTRPC } from "../providers";

export function VerifyEmail() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const token = useSearchParams().get("token");
  const verify = useMutation(
    trpc.account.verifyEmail.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.account.me.queryKey() }),
    }),
  );
  const started = useRef(false);
  const { mutate } = verify;

  useEffect(() => {
    // A token works once: strict mode's second run must not spend it again.
    if (!token || started.current) return;
    started.current = true;
    mutate({ token });
  }, [token, mutate]);

  if (!token) {
    return (
      <ErrorNote>
        This link has no token. Open the link from your email again, or send a new one from your{" "}
        <Link href="/account">account</Link>.
      </ErrorNote>
    );
  }
  if (verify.isSuccess) {
    return (
      <div className="stack">
        <SuccessNote>Your email is verified. Thank you!</SuccessNote>
        <p>
          <Link href="/chat" className="button button-primary">
            Go to the chat
          </Link>
        </p>
      </div>
    );
  }
  if (verify.isError) {
    return (
      <div className="stack">
        <ErrorNote error={verify.error} />
        <p>
          Send a new link from your <Link href="/account">account page</Link>.
        </p>
      </div>
    );
  }
  return <Loading label="Verifying your email…" />;
}
