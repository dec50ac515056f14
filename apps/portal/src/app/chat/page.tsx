// SPDX-License-Identifier: PolyForm-Shield-1.0
// The chat page.

import type { Metadata } from "next";
import { ChatView } from "./chat-view";

export const metadata: Metadata = { title: "Chat" };

export default function ChatPage() {
  return <ChatView />;
}
