// SPDX-License-Identifier: PolyForm-Shield-1.0
// Loading, empty and error states, the same on every page.

import type { ReactNode } from "react";
import { errorMessage } from "../lib/errors";

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label}
    </p>
  );
}

/** Grey bars where a table will be, while it loads. */
export function SkeletonRows({ rows = 3 }: { rows?: number }) {
  return (
    <div className="skeleton-block" role="status" aria-label="Loading">
      {Array.from({ length: rows }, (_, index) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: placeholders have nothing else to key on
        <div key={index} className="skeleton" />
      ))}
    </div>
  );
}

export function ErrorNote({ error, children }: { error?: unknown; children?: ReactNode }) {
  return (
    <div className="notice notice-error" role="alert">
      {children ?? errorMessage(error)}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

export function SuccessNote({ children }: { children: ReactNode }) {
  return (
    <div className="notice notice-success" role="status">
      {children}
    </div>
  );
}
