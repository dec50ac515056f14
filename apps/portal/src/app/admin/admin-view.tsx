// SPDX-License-Identifier: PolyForm-Shield-1.0
// Admin: the platform's numbers, the model catalog, accounts (suspend, role) and every neuron.

"use client";

import { microCreditsPerCredit, upsertModelInputSchema } from "@helexa/protocol";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useState } from "react";
import { z } from "zod";
import { Card } from "../../components/card";
import { InputField } from "../../components/field";
import { QueryState } from "../../components/query-state";
import { SignedInPage } from "../../components/signed-in-page";
import { Stat } from "../../components/stat";
import { ErrorNote, SuccessNote } from "../../components/status";
import { Table } from "../../components/table";
import { type FieldErrors, fieldErrorsOf } from "../../lib/errors";
import {
  formatAgo,
  formatBytes,
  formatCreditAmount,
  formatCredits,
  formatDate,
  formatInteger,
  formatPricePerMillion,
} from "../../lib/format";
import type { Me, RouterOutputs } from "../../lib/types";
import { useTRPC } from "../providers";

type CatalogModel = RouterOutputs["admin"]["models"][number];

export function AdminView() {
  return (
    <SignedInPage title="Admin" admin wide>
      {(me) => (
        <>
          <Overview />
          <Catalog />
          <Accounts me={me} />
          <AllNeurons />
        </>
      )}
    </SignedInPage>
  );
}

function Overview() {
  const trpc = useTRPC();
  const overview = useQuery({ ...trpc.admin.overview.queryOptions(), refetchInterval: 10_000 });
  return (
    <Card titleId="overview-title" title="Overview">
      <QueryState query={overview} skeletonRows={2}>
        {(data) => (
          <dl className="stat-grid">
            <Stat label="Platform revenue" main>
              {formatCredits(data.platformRevenue)}
            </Stat>
            <Stat label="Customer credit">
              {formatCredits(data.customerCredit)}
              {data.customerHeld > 0 ? (
                <span className="muted small"> ({formatCredits(data.customerHeld)} held)</span>
              ) : null}
            </Stat>
            <Stat label="Operator earnings">{formatCredits(data.operatorEarnings)}</Stat>
            <Stat label="Accounts">{formatInteger(data.accounts)}</Stat>
            <Stat label="Jobs today (UTC)">{formatInteger(data.jobsToday)}</Stat>
            <Stat label="Neurons online">
              {formatInteger(data.neuronsOnline)}
              {data.browserNeuronsOnline > 0 ? (
                <span className="muted small"> ({formatInteger(data.browserNeuronsOnline)} in browsers)</span>
              ) : null}
              <span className="muted small"> of {formatInteger(data.neurons)} registered</span>
            </Stat>
          </dl>
        )}
      </QueryState>
    </Card>
  );
}

interface ModelForm {
  id: string;
  sourceUrl: string;
  sha256: string;
  /** The MLC build for WebLLM tabs: its weights folder, its WebGPU library, the features it needs. */
  mlcModelUrl: string;
  mlcLibraryUrl: string;
  mlcFeatures: string;
  contextLength: string;
  pricePrompt: string;
  priceCompletion: string;
}

const emptyForm: ModelForm = {
  id: "",
  sourceUrl: "",
  sha256: "",
  mlcModelUrl: "",
  mlcLibraryUrl: "",
  mlcFeatures: "shader-f16",
  contextLength: "4096",
  pricePrompt: "",
  priceCompletion: "",
};

function formOf(model: CatalogModel): ModelForm {
  return {
    id: model.id,
    sourceUrl: model.sourceUrl ?? "",
    sha256: model.sha256 ?? "",
    mlcModelUrl: model.mlc?.modelUrl ?? "",
    mlcLibraryUrl: model.mlc?.modelLibraryUrl ?? "",
    mlcFeatures: model.mlc ? model.mlc.requiredFeatures.join(", ") : "shader-f16",
    contextLength: String(model.contextLength),
    pricePrompt: formatCreditAmount(model.pricePromptPerMillion).replaceAll(",", ""),
    priceCompletion: formatCreditAmount(model.priceCompletionPerMillion).replaceAll(",", ""),
  };
}

function numberOrNaN(text: string): number {
  return text.trim() === "" ? Number.NaN : Number(text);
}

function Catalog() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const models = useQuery(trpc.admin.models.queryOptions());
  const [form, setForm] = useState<ModelForm>(emptyForm);
  const [editing, setEditing] = useState<CatalogModel | null>(null);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [saved, setSaved] = useState<string | null>(null);
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.admin.models.queryKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.chat.models.queryKey() }),
    ]);
  const upsert = useMutation(trpc.admin.upsertModel.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(trpc.admin.deleteModel.mutationOptions({ onSuccess: refresh }));

  const set = (field: keyof ModelForm) => (value: string) => setForm((now) => ({ ...now, [field]: value }));

  function startEdit(model: CatalogModel) {
    setEditing(model);
    setForm(formOf(model));
    setErrors({});
    setSaved(null);
    document.getElementById("model-id")?.focus();
  }

  function cancelEdit() {
    setEditing(null);
    setForm(emptyForm);
    setErrors({});
  }

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setSaved(null);
    const input = {
      id: form.id,
      sourceUrl: form.sourceUrl.trim() || null,
      sha256: form.sha256.trim() || null,
      // Editing keeps the size the catalog knew; the form does not ask for it.
      sizeBytes: editing?.id === form.id.trim() ? (editing.sizeBytes ?? null) : null,
      // Both URLs or neither: a build is its weights and its library together.
      mlc:
        form.mlcModelUrl.trim() || form.mlcLibraryUrl.trim()
          ? {
              modelUrl: form.mlcModelUrl.trim(),
              modelLibraryUrl: form.mlcLibraryUrl.trim(),
              requiredFeatures: form.mlcFeatures
                .split(",")
                .map((feature) => feature.trim())
                .filter(Boolean),
            }
          : null,
      contextLength: numberOrNaN(form.contextLength),
      pricePromptPerMillionCredits: numberOrNaN(form.pricePrompt),
      priceCompletionPerMillionCredits: numberOrNaN(form.priceCompletion),
    };
    const parsed = upsertModelInputSchema.safeParse(input);
    if (!parsed.success) {
      setErrors(z.flattenError(parsed.error).fieldErrors);
      return;
    }
    setErrors({});
    upsert.mutate(parsed.data, {
      onSuccess: () => {
        setSaved(parsed.data.id);
        setEditing(null);
        setForm(emptyForm);
      },
      onError: (error) => setErrors(fieldErrorsOf(error)),
    });
  }

  return (
    <Card titleId="catalog-title" title="Model catalog">
      <QueryState query={models} empty="No models in the catalog yet — add one below.">
        {(data) => (
          <Table
            columns={[
              "Model",
              { label: "Context", numeric: true },
              "Prompt price",
              "Completion price",
              "Source",
              { label: "Actions", hidden: true },
            ]}
          >
            {data.map((model) => (
              <tr key={model.id}>
                <td>
                  <code>{model.id}</code>
                </td>
                <td className="num">{formatInteger(model.contextLength)}</td>
                <td>{formatPricePerMillion(model.pricePromptPerMillion)}</td>
                <td>{formatPricePerMillion(model.priceCompletionPerMillion)}</td>
                <td className="small">
                  {model.sourceUrl ? (
                    <a href={model.sourceUrl} rel="noreferrer noopener" target="_blank">
                      source
                    </a>
                  ) : (
                    <span className="muted">—</span>
                  )}
                  {model.sizeBytes ? <span className="muted"> · {formatBytes(model.sizeBytes)}</span> : null}
                  {model.sha256 ? (
                    <div className="muted" title={model.sha256}>
                      sha256 {model.sha256.slice(0, 12)}…
                    </div>
                  ) : null}
                </td>
                <td>
                  <div className="row-actions">
                    <button type="button" className="button button-small" onClick={() => startEdit(model)}>
                      Edit
                    </button>
                    <button
                      type="button"
                      className="button button-small button-danger"
                      disabled={remove.isPending}
                      onClick={() => {
                        if (
                          window.confirm(
                            `Delete ${model.id} from the catalog? Clients can no longer ask for it.`,
                          )
                        ) {
                          remove.mutate({ id: model.id });
                        }
                      }}
                    >
                      Delete
                    </button>
                  </div>
                </td>
              </tr>
            ))}
          </Table>
        )}
      </QueryState>
      {remove.isError ? <ErrorNote error={remove.error} /> : null}

      <h3>{editing ? `Edit ${editing.id}` : "Add a model"}</h3>
      <form className="form form-grid" onSubmit={submit} noValidate>
        <InputField
          id="model-id"
          label="Name"
          hint="As clients ask for it."
          error={errors.id?.[0]}
          required
          readOnly={editing !== null}
          value={form.id}
          onValueChange={set("id")}
        />
        <InputField
          id="model-source"
          label="Source URL (optional)"
          error={errors.sourceUrl?.[0]}
          type="url"
          placeholder="https://…/model.gguf"
          value={form.sourceUrl}
          onValueChange={set("sourceUrl")}
        />
        <InputField
          id="model-sha256"
          label="sha256 (optional)"
          error={errors.sha256?.[0]}
          spellCheck={false}
          value={form.sha256}
          onValueChange={set("sha256")}
        />
        <InputField
          id="model-mlc-model"
          label="MLC build: weights URL (optional, for WebLLM tabs)"
          error={errors.mlc?.[0]}
          type="url"
          placeholder="https://…/Model-q4f16_1-MLC/"
          value={form.mlcModelUrl}
          onValueChange={set("mlcModelUrl")}
        />
        <InputField
          id="model-mlc-library"
          label="MLC build: WebGPU library URL"
          type="url"
          placeholder="https://…/Model-q4f16_1-webgpu.wasm"
          value={form.mlcLibraryUrl}
          onValueChange={set("mlcLibraryUrl")}
        />
        <InputField
          id="model-mlc-features"
          label="MLC build: WebGPU features it needs (comma-separated)"
          spellCheck={false}
          value={form.mlcFeatures}
          onValueChange={set("mlcFeatures")}
        />
        <InputField
          id="model-context"
          label="Context length (tokens)"
          error={errors.contextLength?.[0]}
          type="number"
          min={1}
          step={1}
          required
          value={form.contextLength}
          onValueChange={set("contextLength")}
        />
        <InputField
          id="model-price-prompt"
          label="Prompt price (credits per million tokens)"
          error={errors.pricePromptPerMillionCredits?.[0]}
          inputMode="decimal"
          required
          value={form.pricePrompt}
          onValueChange={set("pricePrompt")}
        />
        <InputField
          id="model-price-completion"
          label="Completion price (credits per million tokens)"
          error={errors.priceCompletionPerMillionCredits?.[0]}
          inputMode="decimal"
          required
          value={form.priceCompletion}
          onValueChange={set("priceCompletion")}
        />
        <div className="form-submit">
          <button type="submit" className="button button-primary" disabled={upsert.isPending}>
            {upsert.isPending ? "Saving…" : editing ? "Save changes" : "Add model"}
          </button>
          {editing ? (
            <button type="button" className="button" onClick={cancelEdit}>
              Cancel
            </button>
          ) : null}
        </div>
      </form>
      <p className="muted small">
        Prices are in credits (1 credit = {formatInteger(microCreditsPerCredit)} micro-credits), to six
        decimals.
      </p>
      {upsert.isError && Object.keys(errors).length === 0 ? <ErrorNote error={upsert.error} /> : null}
      {saved ? <SuccessNote>Saved {saved}.</SuccessNote> : null}
    </Card>
  );
}

const accountsPageSize = 25;

function Accounts({ me }: { me: Me }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [searchText, setSearchText] = useState("");
  const [search, setSearch] = useState("");
  const [offset, setOffset] = useState(0);

  // Search as the admin types, once they pause.
  useEffect(() => {
    const timer = setTimeout(() => {
      setSearch(searchText.trim());
      setOffset(0);
    }, 300);
    return () => clearTimeout(timer);
  }, [searchText]);

  const accounts = useQuery({
    ...trpc.admin.accounts.queryOptions({
      limit: accountsPageSize,
      offset,
      ...(search ? { search } : {}),
    }),
    placeholderData: keepPreviousData,
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.admin.accounts.pathKey() });
  const suspend = useMutation(trpc.admin.setSuspended.mutationOptions({ onSettled: refresh }));
  const setRole = useMutation(trpc.admin.setRole.mutationOptions({ onSettled: refresh }));

  const total = accounts.data?.total ?? 0;

  return (
    <Card
      titleId="accounts-title"
      title="Accounts"
      aside={
        <search className="search">
          <label htmlFor="account-search" className="visually-hidden">
            Search accounts by email or name
          </label>
          <input
            id="account-search"
            type="search"
            placeholder="Search email or name"
            value={searchText}
            onChange={(event) => setSearchText(event.target.value)}
          />
        </search>
      }
    >
      <QueryState
        query={accounts}
        isEmpty={(data) => data.accounts.length === 0}
        empty={search ? `No accounts match “${search}”.` : "No accounts yet."}
      >
        {(data) => (
          <>
            <Table
              columns={[
                "Account",
                "Role",
                "Joined",
                { label: "Balance", numeric: true },
                { label: "Earnings", numeric: true },
                "Status",
                { label: "Actions", hidden: true },
              ]}
            >
              {data.accounts.map((account) => {
                const self = account.id === me.id;
                return (
                  <tr key={account.id} className={account.suspendedAt ? "row-muted" : undefined}>
                    <td>
                      <strong>{account.name}</strong>
                      {self ? <span className="badge badge-muted">you</span> : null}
                      <div className="muted small">
                        {account.email ?? "no email"}
                        {account.email && !account.emailVerifiedAt ? " (not verified)" : ""}
                      </div>
                    </td>
                    <td>{account.role}</td>
                    <td>{formatDate(account.createdAt)}</td>
                    <td className="num">
                      {formatCredits(account.balance)}
                      {account.held > 0 ? (
                        <div className="muted small">{formatCredits(account.held)} held</div>
                      ) : null}
                    </td>
                    <td className="num">{formatCredits(account.earnings)}</td>
                    <td>
                      {account.suspendedAt ? (
                        <span className="badge badge-danger">suspended</span>
                      ) : (
                        <span className="badge badge-ok">active</span>
                      )}
                    </td>
                    <td>
                      {self ? null : (
                        <div className="row-actions">
                          <button
                            type="button"
                            className={
                              account.suspendedAt
                                ? "button button-small"
                                : "button button-small button-danger"
                            }
                            disabled={suspend.isPending}
                            onClick={() => {
                              const suspended = !account.suspendedAt;
                              const question = suspended
                                ? `Suspend ${account.email ?? account.name}? They are signed out and their API keys stop working at once.`
                                : `Lift the suspension of ${account.email ?? account.name}? They can sign in again.`;
                              if (window.confirm(question))
                                suspend.mutate({ accountId: account.id, suspended });
                            }}
                          >
                            {account.suspendedAt ? "Unsuspend" : "Suspend"}
                          </button>
                          <button
                            type="button"
                            className="button button-small"
                            disabled={setRole.isPending}
                            onClick={() => {
                              const role = account.role === "admin" ? "user" : "admin";
                              const question =
                                role === "admin"
                                  ? `Make ${account.email ?? account.name} an admin? Admins can change prices, suspend accounts and see everything.`
                                  : `Remove ${account.email ?? account.name}'s admin role?`;
                              if (window.confirm(question)) setRole.mutate({ accountId: account.id, role });
                            }}
                          >
                            {account.role === "admin" ? "Remove admin" : "Make admin"}
                          </button>
                        </div>
                      )}
                    </td>
                  </tr>
                );
              })}
            </Table>
            <div className="pager">
              <button
                type="button"
                className="button button-small"
                disabled={offset === 0}
                onClick={() => setOffset(Math.max(0, offset - accountsPageSize))}
              >
                Previous
              </button>
              <span className="muted small">
                {offset + 1}–{Math.min(offset + accountsPageSize, total)} of {formatInteger(total)}
              </span>
              <button
                type="button"
                className="button button-small"
                disabled={offset + accountsPageSize >= total}
                onClick={() => setOffset(offset + accountsPageSize)}
              >
                Next
              </button>
            </div>
          </>
        )}
      </QueryState>
      {suspend.isError ? <ErrorNote error={suspend.error} /> : null}
      {setRole.isError ? <ErrorNote error={setRole.error} /> : null}
    </Card>
  );
}

function AllNeurons() {
  const trpc = useTRPC();
  const neurons = useQuery({ ...trpc.admin.neurons.queryOptions({ limit: 200 }), refetchInterval: 5000 });
  return (
    <Card
      titleId="all-neurons-title"
      title="Neurons"
      aside={
        neurons.data && neurons.data.total > neurons.data.neurons.length ? (
          <p className="muted small">
            The newest {neurons.data.neurons.length} of {formatInteger(neurons.data.total)}
          </p>
        ) : null
      }
    >
      <QueryState
        query={neurons}
        isEmpty={(data) => data.neurons.length === 0}
        empty="No neurons are registered yet."
      >
        {(data) => (
          <Table
            columns={[
              "Neuron",
              "Operator",
              "Status",
              { label: "Jobs", numeric: true },
              { label: "Tokens served", numeric: true },
              "Registered",
              "Last seen",
            ]}
          >
            {data.neurons.map((neuron) => (
              <tr key={neuron.id} className={neuron.revokedAt ? "row-muted" : undefined}>
                <td>
                  <strong>{neuron.name}</strong>
                  <div className="muted small">
                    <code>{neuron.prefix}…</code>
                  </div>
                </td>
                <td>
                  {neuron.ownerName ?? "anonymous donor"}
                  <div className="muted small">{neuron.ownerEmail ?? "no email"}</div>
                </td>
                <td>
                  <span className={neuron.online ? "badge badge-ok" : "badge badge-muted"}>
                    {neuron.online ? "online" : "offline"}
                  </span>
                  {neuron.revokedAt ? <span className="badge badge-danger">revoked</span> : null}
                </td>
                <td className="num">{formatInteger(neuron.jobs)}</td>
                <td className="num">{formatInteger(neuron.promptTokens + neuron.completionTokens)}</td>
                <td>{formatDate(neuron.createdAt)}</td>
                <td>{neuron.online ? "now" : neuron.lastSeenAt ? formatAgo(neuron.lastSeenAt) : "never"}</td>
              </tr>
            ))}
          </Table>
        )}
      </QueryState>
    </Card>
  );
}
