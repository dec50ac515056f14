// SPDX-License-Identifier: PolyForm-Shield-1.0
// A labelled progress bar for long work (a model's download and load), with bytes where known.

import { formatBytes } from "../lib/format";

/** `fraction` null is work whose end is not known yet (the bar then shows no value). */
export function ProgressBar(props: {
  label: string;
  fraction: number | null;
  bytes?: { done: number; total: number | null } | undefined;
  testId?: string;
}) {
  const { label, fraction, bytes, testId } = props;
  const percent = fraction === null ? null : Math.round(fraction * 100);
  return (
    <div className="progress" data-testid={testId}>
      <div className="progress-label">
        <span>{label}</span>
        <span className="muted">
          {percent === null ? "…" : `${percent}%`}
          {bytes
            ? ` · ${formatBytes(bytes.done)}${bytes.total ? ` of ${formatBytes(bytes.total)}` : ""}`
            : ""}
        </span>
      </div>
      <progress aria-label={label} max={1} value={fraction ?? undefined} />
    </div>
  );
}
