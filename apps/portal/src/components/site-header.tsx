// SPDX-License-Identifier: PolyForm-Shield-1.0
// The header on every page: the brand, the sections, and signing in or out; a menu button on narrow screens.

"use client";

import { useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { signOut } from "next-auth/react";
import { useEffect, useState } from "react";
import { useMe } from "./session";

interface NavItem {
  href: string;
  label: string;
  admin?: boolean;
}

const sections: NavItem[] = [
  { href: "/chat", label: "Chat" },
  { href: "/keys", label: "API keys" },
  { href: "/credits", label: "Credits" },
  { href: "/usage", label: "Usage" },
  { href: "/operator", label: "Operator" },
  { href: "/donate", label: "Donate" },
  { href: "/admin", label: "Admin", admin: true },
];

function isCurrent(pathname: string, href: string): boolean {
  return pathname === href || pathname.startsWith(`${href}/`);
}

export function SiteHeader() {
  const pathname = usePathname() ?? "/";
  const me = useMe();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [signingOut, setSigningOut] = useState(false);

  // A link followed from the open menu closes it.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on navigation, which pathname stands for
  useEffect(() => setOpen(false), [pathname]);

  const account = me.data ?? null;
  const items = sections.filter((item) => !item.admin || account?.role === "admin");

  async function handleSignOut() {
    setSigningOut(true);
    queryClient.clear();
    await signOut({ callbackUrl: "/" });
  }

  return (
    <header className="site-header">
      <div className="header-inner">
        <Link href="/" className="brand" aria-label="helexa home">
          <span className="brand-mark" aria-hidden="true">
            ⬡
          </span>
          helexa
        </Link>
        <button
          type="button"
          className="menu-button"
          aria-expanded={open}
          aria-controls="site-nav"
          onClick={() => setOpen((value) => !value)}
        >
          {open ? "Close" : "Menu"}
        </button>
        <nav id="site-nav" className={open ? "site-nav open" : "site-nav"} aria-label="Main">
          <ul className="nav-sections">
            {items.map((item) => (
              <li key={item.href}>
                <Link href={item.href} aria-current={isCurrent(pathname, item.href) ? "page" : undefined}>
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
          <ul className="nav-account">
            {me.isPending ? (
              <li className="nav-placeholder" aria-hidden="true" />
            ) : account ? (
              <>
                <li>
                  <Link href="/account" aria-current={isCurrent(pathname, "/account") ? "page" : undefined}>
                    Account
                  </Link>
                </li>
                <li>
                  <button type="button" className="link-button" onClick={handleSignOut} disabled={signingOut}>
                    {signingOut ? "Signing out…" : "Sign out"}
                  </button>
                </li>
              </>
            ) : (
              <>
                <li>
                  <Link href="/signin" aria-current={isCurrent(pathname, "/signin") ? "page" : undefined}>
                    Sign in
                  </Link>
                </li>
                <li>
                  <Link href="/signup" className="button button-primary button-small">
                    Sign up
                  </Link>
                </li>
              </>
            )}
          </ul>
        </nav>
      </div>
    </header>
  );
}
