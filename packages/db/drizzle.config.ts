// SPDX-License-Identifier: PolyForm-Shield-1.0
// drizzle-kit's settings: where the schema is and where the generated migrations go (`npm run db:generate`).

import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./src/schema.ts",
  out: "./drizzle",
  strict: true,
});
