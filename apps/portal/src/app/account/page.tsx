// SPDX-License-Identifier: PolyForm-Shield-1.0
// The account page.

import type { Metadata } from "next";
import { AccountView } from "./account-view";

export const metadata: Metadata = { title: "Account" };

export default function AccountPage() {
  return <AccountView />;
}
