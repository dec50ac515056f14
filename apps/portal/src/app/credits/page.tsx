// SPDX-License-Identifier: PolyForm-Shield-1.0
// The credits page.

import type { Metadata } from "next";
import { Suspense } from "react";
import { Loading } from "../../components/status";
import { CreditsView } from "./credits-view";

export const metadata: Metadata = { title: "Credits" };

export default function CreditsPage() {
  return (
    <Suspense fallback={<Loading />}>
      <CreditsView />
    </Suspense>
  );
}
