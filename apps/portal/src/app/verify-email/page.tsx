// SPDX-License-Identifier: PolyForm-Shield-1.0
// The page a verification email links to.

import type { Metadata } from "next";
import { Suspense } from "react";
import { Loading } from "../../components/status";
import { VerifyEmail } from "./verify-email";

export const metadata: Metadata = { title: "Verify your email" };

export default function VerifyEmailPage() {
  return (
    <div className="auth-page">
      <h1>Verify your email</h1>
      <Suspense fallback={<Loading />}>
        <VerifyEmail />
      </Suspense>
    </div>
  );
}
