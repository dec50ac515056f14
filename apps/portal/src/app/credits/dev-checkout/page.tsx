// SPDX-License-Identifier: PolyForm-Shield-1.0
// The dev payment provider's checkout page, where no money moves.

import type { Metadata } from "next";
import { Suspense } from "react";
import { Loading } from "../../../components/status";
import { DevCheckout } from "./dev-checkout";

export const metadata: Metadata = { title: "Dev checkout (no money moves)" };

export default function DevCheckoutPage() {
  return (
    <Suspense fallback={<Loading />}>
      <DevCheckout />
    </Suspense>
  );
}
