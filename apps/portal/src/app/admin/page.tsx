// SPDX-License-Identifier: PolyForm-Shield-1.0
// The admin page.

import type { Metadata } from "next";
import { AdminView } from "./admin-view";

export const metadata: Metadata = { title: "Admin" };

export default function AdminPage() {
  return <AdminView />;
}
