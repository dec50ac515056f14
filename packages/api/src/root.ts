// SPDX-License-Identifier: PolyForm-Shield-1.0
// The portal's one router, split by domain; its type is what the browser's client is typed by.

import { accountRouter } from "./routers/account.js";
import { adminRouter } from "./routers/admin.js";
import { billingRouter } from "./routers/billing.js";
import { chatRouter } from "./routers/chat.js";
import { donateRouter } from "./routers/donate.js";
import { keysRouter } from "./routers/keys.js";
import { operatorRouter } from "./routers/operator.js";
import { statsRouter } from "./routers/stats.js";
import { usageRouter } from "./routers/usage.js";
import { router } from "./trpc.js";

export const appRouter = router({
  account: accountRouter,
  keys: keysRouter,
  chat: chatRouter,
  donate: donateRouter,
  billing: billingRouter,
  usage: usageRouter,
  operator: operatorRouter,
  admin: adminRouter,
  stats: statsRouter,
});

export type AppRouter = typeof appRouter;
