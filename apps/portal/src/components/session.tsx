// SPDX-License-Identifier: PolyForm-Shield-1.0
// Who is signed in (account.me), and a gate for pages that need an account or an admin.

"use client";

import { useQuery } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { type ReactNode, useEffect } from "react";
import { useTRPC } from "../app/providers";
import type { Me } from "../lib/types";
import { ErrorNote, Loading } from "./status";

/** The signed-in account: undefined while it loads, null when signed out. */
export function useMe() {
  const trpc = useTRPC();
  return useQuery({ ...trpc.account.me.queryOptions(), staleTime: 30_000 });
}

/**
 * Renders its children with the account once one is signed in; sends a signed-out visitor to /signin
 * and back here after. With `admin`, anyone else sees "not allowed".
 */
export function RequireAccount(props: { admin?: boolean; children: (me: Me) => ReactNode }) {
  const me = useMe();
  const router = useRouter();
  const signedOut = me.isSuccess && me.data === null;

  useEffect(() => {
    if (!signedOut) return;
    const here = `${window.location.pathname}${window.location.search}`;
    router.replace(`/signin?next=${encodeURIComponent(here)}`);
  }, [signedOut, router]);

  if (me.isPending) return <Loading />;
  if (me.isError) return <ErrorNote error={me.error} />;
  if (me.data === null) return <Loading label="Taking you to sign in…" />;
  if (props.admin && me.data.role !== "admin") {
    return (
      <ErrorNote>
        <strong>Not allowed.</strong> Only an admin can see this page.
      </ErrorNote>
    );
  }
  return <>{props.children(me.data)}</>;
}
