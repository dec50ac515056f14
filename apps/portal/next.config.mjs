// SPDX-License-Identifier: PolyForm-Shield-1.0
// Next's settings for the portal's UI; cortex serves the build and the API routes beside it.

import { fileURLToPath } from "node:url";

/** The monorepo's root, where npm installed the workspaces' packages. */
const root = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");

/** @type {import("next").NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  typedRoutes: false,
  outputFileTracingRoot: root,
  turbopack: { root },
};

export default nextConfig;
