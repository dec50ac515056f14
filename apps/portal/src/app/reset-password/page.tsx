// SPDX-License-Identifier: PolyForm-Shield-1.0
// Reset a forgotten password: ask for a link, or with the link's token choose a new password.

import type { Metadata } from "next";
import { Suspense } from "react";
import { Loading } from "../../components/status";
import { ResetPassword } from "./reset-password";

export const metadata: Metadata = { title: "Reset your password" };

export default function ResetPasswordPage() {
  return (
    <div className="auth-page">
      <h1>Reset your password</h1>
      <Suspense fallback={<Loading />}>
        <ResetPassword />
      </Suspense>
    </div>
  );
}
