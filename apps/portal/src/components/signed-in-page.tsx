// SPDX-License-Identifier: PolyForm-Shield-1.0
// The frame of a page that needs an account: the sign-in gate, then the page's title and its sections.

import type { ReactNode } from "react";
import type { Me } from "../lib/types";
import { RequireAccount } from "./session";

/**
 * A titled page shown only once someone is signed in (with `admin`, only to an admin). `actions` stand
 * beside the title; `children` are the sections, or a function of the account when they need it.
 */
export function SignedInPage(props: {
  title: string;
  admin?: boolean;
  wide?: boolean;
  actions?: ReactNode;
  children: ReactNode | ((me: Me) => ReactNode);
}) {
  const { title, admin, wide, actions, children } = props;
  return (
    <RequireAccount admin={admin}>
      {(me) => (
        <div className={wide ? "page page-wide" : "page"}>
          <div className="page-head">
            <h1>{title}</h1>
            {actions}
          </div>
          {typeof children === "function" ? children(me) : children}
        </div>
      )}
    </RequireAccount>
  );
}
