// SPDX-License-Identifier: PolyForm-Shield-1.0
// What the portal's tRPC procedures answer, by name, for components that take a piece of it.

import type { AppRouter } from "@helexa/api";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";

export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type RouterInputs = inferRouterInputs<AppRouter>;

export type Me = NonNullable<RouterOutputs["account"]["me"]>;
