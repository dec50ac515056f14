// SPDX-License-Identifier: PolyForm-Shield-1.0
// API keys: create one (shown once, with how to use it), list them with spend and limits, revoke.

"use client";

import { createApiKeyInputSchema } from "@helexa/protocol";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { z } from "zod";
import { Card } from "../../components/card";
import { CopyButton } from "../../components/copy-button";
import { InputField } from "../../components/field";
import { QueryState } from "../../components/query-state";
import { SignedInPage } from "../../components/signed-in-page";
import { ErrorNote } from "../../components/status";
import { Table } from "../../components/table";
import { type FieldErrors, fieldErrorsOf } from "../../lib/errors";
import { formatAgo, formatCredits, formatDate, formatInteger, parseCredits } from "../../lib/format";
import type { RouterOutputs } from "../../lib/types";
import { useTRPC } from "../providers";

type CreatedKey = RouterOutputs["keys"]["create"];

export function KeysView() {
  return (
    <SignedInPage title="API keys">
      <p className="muted">
        Keys let programs call helexa&apos;s OpenAI-compatible API. Each call is charged to your credits; a
        key can have its own spend limit and rate limit.
      </p>
      <Keys />
    </SignedInPage>
  );
}

function Keys() {
  const [created, setCreated] = useState<CreatedKey | null>(null);
  return (
    <>
      <CreateKeyForm onCreated={setCreated} />
      {created ? <NewKey created={created} onDismiss={() => setCreated(null)} /> : null}
      <KeyList />
    </>
  );
}

function CreateKeyForm({ onCreated }: { onCreated: (created: CreatedKey) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [spendLimit, setSpendLimit] = useState("");
  const [rateLimit, setRateLimit] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const create = useMutation(
    trpc.keys.create.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.keys.list.queryKey() }),
    }),
  );

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const found: FieldErrors = {};
    const spend = spendLimit.trim() === "" ? null : parseCredits(spendLimit);
    if (spendLimit.trim() !== "" && spend === null)
      found.spendLimitCredits = ["enter an amount in credits, such as 5 or 0.5"];
    const rate = rateLimit.trim() === "" ? null : Number(rateLimit);
    if (rateLimit.trim() !== "" && !Number.isFinite(rate))
      found.rateLimitPerMinute = ["must be a whole number"];
    const input = { name, spendLimitCredits: spend, rateLimitPerMinute: rate };
    const parsed = createApiKeyInputSchema.safeParse(input);
    if (!parsed.success) {
      for (const [field, messages] of Object.entries(z.flattenError(parsed.error).fieldErrors)) {
        found[field] ??= messages;
      }
    }
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    create.mutate(input, {
      onSuccess: (data) => {
        setName("");
        setSpendLimit("");
        setRateLimit("");
        onCreated(data);
      },
      onError: (error) => setErrors(fieldErrorsOf(error)),
    });
  }

  return (
    <Card titleId="create-key-title" title="Create a key">
      <form className="form form-grid" onSubmit={submit} noValidate>
        <InputField
          id="key-name"
          label="Name"
          hint="So you can tell keys apart, e.g. “laptop”."
          error={errors.name?.[0]}
          required
          maxLength={80}
          value={name}
          onValueChange={setName}
        />
        <InputField
          id="key-spend-limit"
          label="Spend limit (credits, optional)"
          hint="Blank: no limit beyond your balance."
          error={errors.spendLimitCredits?.[0]}
          inputMode="decimal"
          placeholder="e.g. 5"
          value={spendLimit}
          onValueChange={setSpendLimit}
        />
        <InputField
          id="key-rate-limit"
          label="Rate limit (requests per minute, optional)"
          hint="Blank: no limit."
          error={errors.rateLimitPerMinute?.[0]}
          type="number"
          inputMode="numeric"
          min={1}
          step={1}
          placeholder="e.g. 60"
          value={rateLimit}
          onValueChange={setRateLimit}
        />
        <div className="form-submit">
          <button type="submit" className="button button-primary" disabled={create.isPending}>
            {create.isPending ? "Creating…" : "Create key"}
          </button>
        </div>
      </form>
      {create.isError && Object.keys(errors).length === 0 ? <ErrorNote error={create.error} /> : null}
    </Card>
  );
}

function NewKey({ created, onDismiss }: { created: CreatedKey; onDismiss: () => void }) {
  const trpc = useTRPC();
  const models = useQuery(trpc.chat.models.queryOptions());
  const model =
    models.data?.find((candidate) => candidate.neurons > 0)?.id ?? models.data?.[0]?.id ?? "MODEL_NAME";
  const gateway = (created.gatewayUrl ?? "http://<gateway-host>:8080").replace(/\/+$/, "");
  const baseUrl = `${gateway}/v1`;
  const curl = [
    `curl ${baseUrl}/chat/completions \\`,
    `  -H "Authorization: Bearer ${created.key}" \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -d '{"model": "${model}", "messages": [{"role": "user", "content": "Hello!"}]}'`,
  ].join("\n");
  const sdk = [
    `import OpenAI from "openai";`,
    ``,
    `const client = new OpenAI({`,
    `  apiKey: "${created.key}",`,
    `  baseURL: "${baseUrl}",`,
    `});`,
    `const reply = await client.chat.completions.create({`,
    `  model: "${model}",`,
    `  messages: [{ role: "user", content: "Hello!" }],`,
    `});`,
    `console.log(reply.choices[0].message.content);`,
  ].join("\n");

  return (
    <Card titleId="new-key-title" title="Your new key" className="card-highlight">
      <p>
        <strong>Copy it now: it is shown only this once.</strong> helexa keeps only a hash of it, so it cannot
        be shown again. If you lose it, revoke it and create another.
      </p>
      <div className="secret-box">
        <code data-testid="new-key-value">{created.key}</code>
        <CopyButton text={created.key} label="Copy key" />
      </div>
      <h3>Use it with curl</h3>
      <div className="snippet">
        <pre>
          <code>{curl}</code>
        </pre>
        <CopyButton text={curl} />
      </div>
      <h3>Or with the OpenAI SDK</h3>
      <div className="snippet">
        <pre>
          <code>{sdk}</code>
        </pre>
        <CopyButton text={sdk} />
      </div>
      {created.gatewayUrl ? null : (
        <p className="muted small">
          This cortex did not say where its gateway is: replace the host above with it.
        </p>
      )}
      <button type="button" className="button" onClick={onDismiss}>
        I have saved it
      </button>
    </Card>
  );
}

function KeyList() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const keys = useQuery(trpc.keys.list.queryOptions());
  const revoke = useMutation(
    trpc.keys.revoke.mutationOptions({
      onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.keys.list.queryKey() }),
    }),
  );

  return (
    <Card titleId="keys-title" title="Your keys">
      <QueryState query={keys} empty="No keys yet — create one above.">
        {(data) => (
          <Table
            columns={[
              "Name",
              "Key",
              "Created",
              "Last used",
              { label: "Spent", numeric: true },
              "Limits",
              "Status",
              { label: "Actions", hidden: true },
            ]}
          >
            {data.map((key) => (
              <tr key={key.id} data-testid="key-row" className={key.revokedAt ? "row-muted" : undefined}>
                <td>{key.name}</td>
                <td>
                  <code>{key.prefix}…</code>
                </td>
                <td>{formatDate(key.createdAt)}</td>
                <td>{key.lastUsedAt ? formatAgo(key.lastUsedAt) : "Never"}</td>
                <td className="num">{formatCredits(key.spent)}</td>
                <td>
                  {key.spendLimit === null && key.rateLimitPerMinute === null ? (
                    <span className="muted">None</span>
                  ) : (
                    <>
                      {key.spendLimit !== null ? <div>{formatCredits(key.spendLimit)} max</div> : null}
                      {key.rateLimitPerMinute !== null ? (
                        <div>{formatInteger(key.rateLimitPerMinute)} / min</div>
                      ) : null}
                    </>
                  )}
                </td>
                <td>
                  {key.revokedAt ? (
                    <span className="badge badge-muted">revoked</span>
                  ) : (
                    <span className="badge badge-ok">active</span>
                  )}
                </td>
                <td>
                  {key.revokedAt ? null : (
                    <button
                      type="button"
                      className="button button-small button-danger"
                      data-testid="revoke-key"
                      disabled={revoke.isPending && revoke.variables?.id === key.id}
                      onClick={() => {
                        if (
                          window.confirm(
                            `Revoke “${key.name}”? Programs using it stop working at once. This cannot be undone.`,
                          )
                        ) {
                          revoke.mutate({ id: key.id });
                        }
                      }}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </Table>
        )}
      </QueryState>
      {revoke.isError ? <ErrorNote error={revoke.error} /> : null}
    </Card>
  );
}
