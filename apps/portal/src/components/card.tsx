// SPDX-License-Identifier: PolyForm-Shield-1.0
// A page's card: a section named by its h2 for screen readers, with room beside the title for a count or a search.

import type { ReactNode } from "react";

/**
 * `titleId` is the h2's id, which the section is labelled by. `aside` stands beside the title in a
 * section-head row; the row is there whenever `aside` is passed, even as null, so the layout does not
 * jump when what it shows comes and goes.
 */
export function Card(props: {
  titleId: string;
  title: ReactNode;
  aside?: ReactNode;
  className?: string;
  children: ReactNode;
}) {
  const { titleId, title, aside, className, children } = props;
  const heading = <h2 id={titleId}>{title}</h2>;
  return (
    <section className={className ? `card ${className}` : "card"} aria-labelledby={titleId}>
      {aside === undefined ? (
        heading
      ) : (
        <div className="section-head">
          {heading}
          {aside}
        </div>
      )}
      {children}
    </section>
  );
}
