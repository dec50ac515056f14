// SPDX-License-Identifier: PolyForm-Shield-1.0
// What a page shows when it fails to render: what happened, and a way to try again.

"use client";

import { useEffect } from "react";

export default function PageError({
  error,
  reset,
}: {
  error: Error & { digest?: string };
  reset: () => void;
}) {
  useEffect(() => {
    console.error(error);
  }, [error]);

  return (
    <div className="page page-narrow">
      <h1>Something went wrong</h1>
      <div className="notice notice-error" role="alert">
        This page could not be shown. Try again; if it keeps happening, reload the page.
      </div>
      <p>
        <button type="button" className="button button-primary" onClick={reset}>
          Try again
        </button>
      </p>
    </div>
  );
}
