// SPDX-License-Identifier: PolyForm-Shield-1.0
// A table of rows in a frame that scrolls sideways on narrow screens, its column headings given as a list.

import type { ReactNode } from "react";

/** A column's heading: numbers are right-aligned; a hidden one (a row's buttons) is for screen readers only. */
export type Column = string | { label: string; numeric?: boolean; hidden?: boolean };

export function Table(props: {
  columns: Column[];
  /** Says what the table holds, for screen readers. */
  caption?: ReactNode;
  testId?: string;
  /** The rows of a tfoot, such as totals. */
  foot?: ReactNode;
  /** The rows of the tbody. */
  children: ReactNode;
}) {
  const { columns, caption, testId, foot, children } = props;
  return (
    <div className="table-wrap">
      <table data-testid={testId}>
        {caption ? <caption className="visually-hidden">{caption}</caption> : null}
        <thead>
          <tr>
            {columns.map((column) => {
              const { label, numeric, hidden } =
                typeof column === "string" ? { label: column, numeric: false, hidden: false } : column;
              return (
                <th key={label} scope="col" className={numeric ? "num" : undefined}>
                  {hidden ? <span className="visually-hidden">{label}</span> : label}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>{children}</tbody>
        {foot ? <tfoot>{foot}</tfoot> : null}
      </table>
    </div>
  );
}
