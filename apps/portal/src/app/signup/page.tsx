// SPDX-License-Identifier: PolyForm-Shield-1.0
// The sign-up page.

import type { Metadata } from "next";
import { SignUpForm } from "./signup-form";

export const metadata: Metadata = { title: "Sign up" };

export default function SignUpPage() {
  return (
    <div className="auth-page">
      <h1>Create your helexa account</h1>
      <p className="muted">Chat with models, get API keys, and run neurons to earn credits.</p>
      <SignUpForm />
    </div>
  );
}
