// SPDX-License-Identifier: PolyForm-Shield-1.0
// The page for an address the portal does not have.

import type { Metadata } from "next";
import Link from "next/link";

export const metadata: Metadata = { title: "Page not found" };

export default function NotFound() {
  return (
    <div className="page page-narrow">
      <h1>Page not found</h1>
      <p className="muted">
        There is nothing at this address. It may have moved, or the link may be mistyped.
      </p>
      <p>
        <Link href="/" className="button button-primary">
          Go to the home page
        </Link>
      </p>
    </div>
  );
}
