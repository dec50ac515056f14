// SPDX-License-Identifier: PolyForm-Shield-1.0
// The chat: pick a model, keep conversations, and watch each reply stream in with what it cost.

"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { type FormEvent, type KeyboardEvent, useEffect, useRef, useState } from "react";
import { QueryState } from "../../components/query-state";
import { RequireAccount } from "../../components/session";
import { ErrorNote, Loading } from "../../components/status";
import { errorMessage, helexaCode } from "../../lib/errors";
import { formatAgo, formatCredits, formatInteger, formatPricePerMillion } from "../../lib/format";
import type { RouterOutputs } from "../../lib/types";
import { trpcClient, useTRPC } from "../providers";

type ModelRow = RouterOutputs["chat"]["models"][number];
type Conversation = RouterOutputs["chat"]["conversations"][number];
type StoredMessage = RouterOutputs["chat"]["conversation"]["messages"][number];

/** The exchange being streamed now, shown until the saved conversation has it. */
interface Pending {
  userText: string;
  userMessageId: string | null;
  assistantText: string;
  assistantMessageId: string | null;
  model: string;
  status: "streaming" | "done" | "error" | "stopped";
  cost: number | null;
  promptTokens: number | null;
  completionTokens: number | null;
  note: string | null;
}

interface Notice {
  code: string | null;
  message: string;
}

export function ChatView() {
  return <RequireAccount>{() => <Chat />}</RequireAccount>;
}

function Chat() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const models = useQuery({ ...trpc.chat.models.queryOptions(), refetchInterval: 15_000 });
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [model, setModel] = useState("");
  const [pending, setPending] = useState<Pending | null>(null);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [streaming, setStreaming] = useState(false);
  const abortRef = useRef<AbortController | null>(null);

  const conversation = useQuery({
    ...trpc.chat.conversation.queryOptions({ id: selectedId ?? "" }),
    enabled: selectedId !== null,
  });

  // Until someone picks, the first model that is online.
  useEffect(() => {
    if (model || !models.data) return;
    const first = models.data.find((candidate) => candidate.neurons > 0) ?? models.data[0];
    if (first) setModel(first.id);
  }, [model, models.data]);

  // Stop a reply still streaming when the page goes away.
  useEffect(() => () => abortRef.current?.abort(), []);

  function selectConversation(item: Conversation | null) {
    if (streaming) return;
    setPending(null);
    setNotice(null);
    setSelectedId(item?.id ?? null);
    const online =
      item && models.data?.some((candidate) => candidate.id === item.model && candidate.neurons > 0);
    if (item && online) setModel(item.model);
  }

  async function send(content: string): Promise<boolean> {
    const text = content.trim();
    if (!text || !model || streaming) return false;
    const controller = new AbortController();
    abortRef.current = controller;
    setStreaming(true);
    setNotice(null);
    setPending({
      userText: text,
      userMessageId: null,
      assistantText: "",
      assistantMessageId: null,
      model,
      status: "streaming",
      cost: null,
      promptTokens: null,
      completionTokens: null,
      note: null,
    });
    let conversationId = selectedId;
    let started = false;
    try {
      const events = await trpcClient.chat.send.mutate(
        { ...(selectedId ? { conversationId: selectedId } : {}), model, content: text },
        { signal: controller.signal },
      );
      for await (const event of events) {
        if (event.type === "conversation") {
          started = true;
          conversationId = event.conversationId;
          setSelectedId(event.conversationId);
          setPending((now) => (now ? { ...now, userMessageId: event.userMessageId } : now));
          void queryClient.invalidateQueries({ queryKey: trpc.chat.conversations.queryKey() });
        } else if (event.type === "delta") {
          setPending((now) => (now ? { ...now, assistantText: now.assistantText + event.text } : now));
        } else if (event.type === "done") {
          setPending((now) =>
            now
              ? {
                  ...now,
                  status: "done",
                  assistantMessageId: event.messageId,
                  cost: event.cost,
                  promptTokens: event.promptTokens,
                  completionTokens: event.completionTokens,
                }
              : now,
          );
        } else if (event.type === "error") {
          const stopped = event.code === "job_cancelled";
          setPending((now) =>
            now
              ? {
                  ...now,
                  status: stopped ? "stopped" : "error",
                  assistantMessageId: event.messageId,
                  cost: event.cost,
                  note: stopped ? "Stopped" : event.message,
                }
              : now,
          );
          if (!stopped) setNotice({ code: event.code, message: event.message });
        }
      }
    } catch (error) {
      if (controller.signal.aborted) {
        setPending((now) => (now ? { ...now, status: "stopped", note: "Stopped" } : now));
      } else {
        setPending((now) => (now ? { ...now, status: "error" } : now));
        setNotice({ code: helexaCode(error), message: errorMessage(error) });
      }
    } finally {
      abortRef.current = null;
      setStreaming(false);
    }

    if (!started) {
      // Nothing reached the server's conversation: the message goes back in the box to try again.
      setPending(null);
      return false;
    }
    // A stopped reply is saved as the server notices the reader left: give it a moment.
    if (controller.signal.aborted) await new Promise((resolve) => setTimeout(resolve, 800));
    await Promise.all([
      conversationId
        ? queryClient.invalidateQueries({ queryKey: trpc.chat.conversation.queryKey({ id: conversationId }) })
        : null,
      queryClient.invalidateQueries({ queryKey: trpc.chat.conversations.queryKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.billing.balance.queryKey() }),
    ]);
    setPending(null);
    return true;
  }

  function stop() {
    abortRef.current?.abort();
  }

  const selectedModel = models.data?.find((candidate) => candidate.id === model) ?? null;
  const modelOnline = (selectedModel?.neurons ?? 0) > 0;

  return (
    <div className="chat-layout">
      <ConversationList
        selectedId={selectedId}
        disabled={streaming}
        onSelect={selectConversation}
        onDeleted={(id) => {
          if (id === selectedId) selectConversation(null);
        }}
      />
      <section className="chat-main" aria-labelledby="chat-title">
        <div className="chat-toolbar">
          <h1 id="chat-title" className="chat-title">
            {selectedId ? (conversation.data?.title ?? "Conversation") : "New conversation"}
          </h1>
          <ModelPicker models={models} value={model} onChange={setModel} disabled={streaming} />
        </div>
        <Messages
          selectedId={selectedId}
          conversation={conversation}
          pending={pending}
          models={models.data ?? []}
        />
        {notice ? <ChatNotice notice={notice} /> : null}
        <Composer
          streaming={streaming}
          canSend={Boolean(model) && modelOnline}
          reason={
            !models.data
              ? null
              : models.data.length === 0
                ? "No models are in the catalog yet."
                : !modelOnline
                  ? "This model is offline: no neuron serves it now. Pick another."
                  : null
          }
          onSend={send}
          onStop={stop}
        />
      </section>
    </div>
  );
}

function ModelPicker(props: {
  models: { data?: ModelRow[]; isPending: boolean; isError: boolean; error: unknown };
  value: string;
  onChange: (model: string) => void;
  disabled: boolean;
}) {
  const { models, value, onChange, disabled } = props;
  const selected = models.data?.find((candidate) => candidate.id === value);
  return (
    <div className="model-picker">
      <label htmlFor="model-picker">Model</label>
      <select
        id="model-picker"
        data-testid="model-picker"
        value={value}
        disabled={disabled || !models.data || models.data.length === 0}
        onChange={(event) => onChange(event.target.value)}
        aria-describedby="model-price"
      >
        {models.isPending ? <option value="">Loading models…</option> : null}
        {models.data && models.data.length === 0 ? <option value="">No models yet</option> : null}
        {models.data?.map((candidate) => (
          <option key={candidate.id} value={candidate.id} disabled={candidate.neurons === 0}>
            {candidate.id} {candidate.neurons > 0 ? "· online" : "· offline"}
          </option>
        ))}
      </select>
      <p id="model-price" className="muted small model-price">
        {models.isError
          ? "Could not load the models."
          : selected
            ? `${formatPricePerMillion(selected.pricePromptPerMillion)} prompt · ${formatPricePerMillion(
                selected.priceCompletionPerMillion,
              )} completion · ${
                selected.neurons > 0
                  ? `${selected.neurons} ${selected.neurons === 1 ? "neuron" : "neurons"} online`
                  : "offline"
              }`
            : " "}
      </p>
    </div>
  );
}

function ConversationList(props: {
  selectedId: string | null;
  disabled: boolean;
  onSelect: (conversation: Conversation | null) => void;
  onDeleted: (id: string) => void;
}) {
  const { selectedId, disabled, onSelect, onDeleted } = props;
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const conversations = useQuery(trpc.chat.conversations.queryOptions());
  const [editingId, setEditingId] = useState<string | null>(null);
  const [title, setTitle] = useState("");
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.chat.conversations.queryKey() });
  const rename = useMutation(
    trpc.chat.rename.mutationOptions({
      onSuccess: async (_data, variables) => {
        setEditingId(null);
        await Promise.all([
          refresh(),
          queryClient.invalidateQueries({ queryKey: trpc.chat.conversation.queryKey({ id: variables.id }) }),
        ]);
      },
    }),
  );
  const remove = useMutation(
    trpc.chat.delete.mutationOptions({
      onSuccess: async (_data, variables) => {
        onDeleted(variables.id);
        await refresh();
      },
    }),
  );

  function submitRename(event: FormEvent<HTMLFormElement>, id: string) {
    event.preventDefault();
    const trimmed = title.trim();
    if (!trimmed) return;
    rename.mutate({ id, title: trimmed.slice(0, 120) });
  }

  return (
    <aside className="chat-sidebar" aria-labelledby="conversations-title">
      <div className="sidebar-head">
        <h2 id="conversations-title">Conversations</h2>
        <button
          type="button"
          className="button button-small button-primary"
          onClick={() => onSelect(null)}
          disabled={disabled}
        >
          New chat
        </button>
      </div>
      <QueryState
        query={conversations}
        skeletonRows={4}
        empty="No conversations yet — send a message to start one."
      >
        {(data) => (
          <ul className="conversation-list">
            {data.map((item) => (
              <li key={item.id} className={item.id === selectedId ? "conversation selected" : "conversation"}>
                {editingId === item.id ? (
                  <form className="rename-form" onSubmit={(event) => submitRename(event, item.id)}>
                    <label htmlFor={`rename-${item.id}`} className="visually-hidden">
                      New title
                    </label>
                    <input
                      id={`rename-${item.id}`}
                      value={title}
                      maxLength={120}
                      onChange={(event) => setTitle(event.target.value)}
                      onKeyDown={(event) => {
                        if (event.key === "Escape") setEditingId(null);
                      }}
                    />
                    <div className="row-actions">
                      <button type="submit" className="button button-small" disabled={rename.isPending}>
                        Save
                      </button>
                      <button
                        type="button"
                        className="button button-small"
                        onClick={() => setEditingId(null)}
                      >
                        Cancel
                      </button>
                    </div>
                  </form>
                ) : (
                  <>
                    <button
                      type="button"
                      className="conversation-select"
                      aria-current={item.id === selectedId ? "true" : undefined}
                      onClick={() => onSelect(item)}
                      disabled={disabled}
                    >
                      <span className="conversation-title">{item.title}</span>
                      <span className="muted small">
                        {item.model} · {formatAgo(item.updatedAt)}
                      </span>
                    </button>
                    <div className="row-actions">
                      <button
                        type="button"
                        className="link-button small"
                        onClick={() => {
                          setEditingId(item.id);
                          setTitle(item.title);
                        }}
                        aria-label={`Rename “${item.title}”`}
                      >
                        Rename
                      </button>
                      <button
                        type="button"
                        className="link-button small danger"
                        disabled={disabled || remove.isPending}
                        onClick={() => {
                          if (window.confirm(`Delete “${item.title}”? Its messages are deleted too.`)) {
                            remove.mutate({ id: item.id });
                          }
                        }}
                        aria-label={`Delete “${item.title}”`}
                      >
                        Delete
                      </button>
                    </div>
                  </>
                )}
              </li>
            ))}
          </ul>
        )}
      </QueryState>
      {rename.isError ? <ErrorNote error={rename.error} /> : null}
      {remove.isError ? <ErrorNote error={remove.error} /> : null}
    </aside>
  );
}

function Messages(props: {
  selectedId: string | null;
  conversation: {
    data?: { messages: StoredMessage[] };
    isPending: boolean;
    isError: boolean;
    error: unknown;
  };
  pending: Pending | null;
  models: ModelRow[];
}) {
  const { selectedId, conversation, pending } = props;
  const listRef = useRef<HTMLDivElement>(null);
  const hidden = new Set([pending?.userMessageId, pending?.assistantMessageId].filter(Boolean));
  const stored = selectedId
    ? (conversation.data?.messages ?? []).filter((message) => !hidden.has(message.id))
    : [];
  // A sent message counts too, so the list scrolls to it before any reply arrives.
  const lastLength = (pending ? pending.assistantText.length + 1 : 0) + stored.length;

  // Follow the reply as it grows, unless the reader scrolled up to read.
  // biome-ignore lint/correctness/useExhaustiveDependencies: lastLength is what changes as content arrives
  useEffect(() => {
    const list = listRef.current;
    if (!list) return;
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 160;
    if (nearBottom || pending?.status === "streaming") list.scrollTop = list.scrollHeight;
  }, [lastLength]);

  const loading = selectedId !== null && conversation.isPending && !pending;

  return (
    <div className="messages" ref={listRef} aria-live="polite" aria-busy={pending?.status === "streaming"}>
      {loading ? <Loading label="Loading the conversation…" /> : null}
      {selectedId && conversation.isError && !pending ? <ErrorNote error={conversation.error} /> : null}
      {!loading && stored.length === 0 && !pending ? (
        <div className="chat-empty">
          <p>
            <strong>Ask anything.</strong> Replies stream in as a neuron writes them; each shows its tokens
            and what it cost.
          </p>
        </div>
      ) : null}
      {stored
        .filter((message) => message.role !== "system")
        .map((message) =>
          message.role === "user" ? (
            <UserBubble key={message.id} text={message.content} />
          ) : (
            <AssistantBubble
              key={message.id}
              text={message.content}
              model={message.model}
              cost={message.cost}
              promptTokens={message.promptTokens}
              completionTokens={message.completionTokens}
              note={noteOf(message.finishNote)}
              streaming={false}
            />
          ),
        )}
      {pending ? (
        <>
          <UserBubble text={pending.userText} />
          {pending.status === "error" && !pending.assistantText ? null : (
            <AssistantBubble
              text={pending.assistantText}
              model={pending.model}
              cost={pending.cost}
              promptTokens={pending.promptTokens}
              completionTokens={pending.completionTokens}
              note={pending.note}
              streaming={pending.status === "streaming"}
            />
          )}
        </>
      ) : null}
    </div>
  );
}

/** Why a saved reply ended early, in words: a stop reads "Stopped" whichever side noticed it first. */
function noteOf(finishNote: string | null): string | null {
  if (!finishNote) return null;
  return /^stopped$|cancel/i.test(finishNote) ? "Stopped" : finishNote;
}

function UserBubble({ text }: { text: string }) {
  return (
    <article className="message message-user" aria-label="You">
      <p className="message-author">You</p>
      <div className="message-text">{text}</div>
    </article>
  );
}

function AssistantBubble(props: {
  text: string;
  model: string | null;
  cost: number | null;
  promptTokens: number | null;
  completionTokens: number | null;
  note: string | null;
  streaming: boolean;
}) {
  const { text, model, cost, promptTokens, completionTokens, note, streaming } = props;
  return (
    <article className="message message-assistant" aria-label="Reply">
      <p className="message-author">{model ?? "Assistant"}</p>
      {streaming && !text ? <p className="muted message-waiting">Thinking…</p> : null}
      {/* The reply's text and nothing else, so its textContent is exactly what the model wrote. */}
      <div className="message-text" data-testid="assistant-message">
        {text}
        {streaming ? <span className="cursor" aria-hidden="true" /> : null}
      </div>
      {streaming ? null : (
        <p className="message-meta muted small">
          {note ? <span className="message-note">{note}</span> : null}
          {promptTokens !== null || completionTokens !== null ? (
            <span>
              {formatInteger(promptTokens ?? 0)} prompt + {formatInteger(completionTokens ?? 0)} completion
              tokens
            </span>
          ) : null}
          {cost !== null ? <span data-testid="reply-cost">{formatCredits(cost)}</span> : null}
        </p>
      )}
    </article>
  );
}

function ChatNotice({ notice }: { notice: Notice }) {
  if (notice.code === "insufficient_quota") {
    return (
      <ErrorNote>
        <strong>You are out of credits.</strong> Your balance does not cover this reply.{" "}
        <Link href="/credits">Buy credits</Link> to keep chatting.
      </ErrorNote>
    );
  }
  return <ErrorNote>{notice.message}</ErrorNote>;
}

function Composer(props: {
  streaming: boolean;
  canSend: boolean;
  reason: string | null;
  onSend: (content: string) => Promise<boolean>;
  onStop: () => void;
}) {
  const { streaming, canSend, reason, onSend, onStop } = props;
  const [text, setText] = useState("");
  const inputRef = useRef<HTMLTextAreaElement>(null);

  async function submit(event?: FormEvent<HTMLFormElement>) {
    event?.preventDefault();
    if (streaming || !canSend || !text.trim()) return;
    const sent = text;
    setText("");
    const ok = await onSend(sent);
    if (!ok) setText((now) => now || sent);
    inputRef.current?.focus();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void submit();
    }
  }

  return (
    <form className="composer" onSubmit={submit}>
      <label htmlFor="chat-input" className="visually-hidden">
        Message
      </label>
      <textarea
        id="chat-input"
        ref={inputRef}
        data-testid="chat-input"
        rows={3}
        value={text}
        placeholder="Write a message… (Enter sends, Shift+Enter for a new line)"
        onChange={(event) => setText(event.target.value)}
        onKeyDown={onKeyDown}
        maxLength={32_000}
        aria-describedby={reason ? "composer-reason" : undefined}
      />
      <div className="composer-actions">
        {reason ? (
          <p id="composer-reason" className="muted small">
            {reason}
          </p>
        ) : (
          <span />
        )}
        {streaming ? (
          <button type="button" className="button button-danger" data-testid="chat-stop" onClick={onStop}>
            Stop
          </button>
        ) : (
          <button
            type="submit"
            className="button button-primary"
            data-testid="chat-send"
            disabled={!canSend || !text.trim()}
          >
            Send
          </button>
        )}
      </div>
    </form>
  );
}
