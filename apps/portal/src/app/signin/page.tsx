// SPDX-License-Identifier: PolyForm-Shield-1.0
// The sign-in page.

import type { Metadata } from "next";
import { Suspense } from "react";
import { Loading } from "../../components/status";
import { SignInForm } from "./signin-form";

export const metadata: Metadata = { title: "Sign in" };

export default function SignInPage() {
  return (
    <div className="auth-page">
      <h1>Sign in to helexa</h1>
      <Suspense fallback={<Loading />}>
        <SignInForm />
      </Suspense>
    </div>
  );
}
