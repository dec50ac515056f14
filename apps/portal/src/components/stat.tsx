// SPDX-License-Identifier: PolyForm-Shield-1.0
// One figure in a stat grid (<dl className="stat-grid">): its name, then its value.

import type { ReactNode } from "react";

/** `main` marks the figure the card is about, shown larger; `testId` goes on the value. */
export function Stat(props: { label: ReactNode; main?: boolean; testId?: string; children: ReactNode }) {
  const { label, main, testId, children } = props;
  return (
    <div className={main ? "stat stat-main" : "stat"}>
      <dt>{label}</dt>
      <dd data-testid={testId}>{children}</dd>
    </div>
  );
}
