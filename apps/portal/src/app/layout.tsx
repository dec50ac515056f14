// SPDX-License-Identifier: PolyForm-Shield-1.0
// The frame of every page: skip link, header, main content and footer, inside the data providers.

import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import { SiteFooter } from "../components/site-footer";
import { SiteHeader } from "../components/site-header";
import { Providers } from "./providers";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "helexa — pooled compute for language models", template: "%s · helexa" },
  description:
    "helexa pools compute from many people to serve language models behind an OpenAI-compatible API. Operators earn for the tokens their machines serve.",
};

export const viewport: Viewport = {
  width: "device-width",
  initialScale: 1,
  themeColor: [
    { media: "(prefers-color-scheme: light)", color: "#f7f7fb" },
    { media: "(prefers-color-scheme: dark)", color: "#0f1117" },
  ],
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <a className="skip-link" href="#content">
          Skip to content
        </a>
        <Providers>
          <SiteHeader />
          <main id="content" className="site-main" tabIndex={-1}>
            {children}
          </main>
          <SiteFooter />
        </Providers>
      </body>
    </html>
  );
}
