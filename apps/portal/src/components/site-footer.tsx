// SPDX-License-Identifier: PolyForm-Shield-1.0
// The footer on every page.

import Link from "next/link";

export function SiteFooter() {
  return (
    <footer className="site-footer">
      <div className="footer-inner">
        <p>
          <strong>helexa</strong> — an open distributed AI fabric. Pooled compute, an OpenAI-compatible API,
          and operators who earn for what they serve.
        </p>
        <nav aria-label="Footer">
          <ul>
            <li>
              <Link href="/keys">API keys</Link>
            </li>
            <li>
              <Link href="/operator">Run a neuron</Link>
            </li>
            <li>
              <Link href="/credits">Credits</Link>
            </li>
            <li>
              <Link href="/usage">Usage</Link>
            </li>
          </ul>
        </nav>
      </div>
    </footer>
  );
}
