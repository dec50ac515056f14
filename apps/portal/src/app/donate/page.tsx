// SPDX-License-Identifier: PolyForm-Shield-1.0
// The donate page: a visitor's tab becomes a browser neuron.

import type { Metadata } from "next";
import { DonateView } from "./donate-view";

export const metadata: Metadata = { title: "Donate a tab" };

export default function DonatePage() {
  return <DonateView />;
}
