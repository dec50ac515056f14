// SPDX-License-Identifier: PolyForm-Shield-1.0
// Operators: register a neuron (its token shown once), watch neurons live, and see what they earned.

"use client";

import { registerNeuronInputSchema } from "@helexa/protocol";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { z } from "zod";
import { Card } from "../../components/card";
import { CopyButton } from "../../components/copy-button";
import { InputField } from "../../components/field";
import { QueryState } from "../../components/query-state";
import { SignedInPage } from "../../components/signed-in-page";
import { Stat } from "../../components/stat";
import { ErrorNote } from "../../components/status";
import { Table } from "../../components/table";
import { type FieldErrors, fieldErrorsOf } from "../../lib/errors";
import {
  formatAgo,
  formatBytes,
  formatCredits,
  formatDateTime,
  formatInteger,
  formatSignedCredits,
} from "../../lib/format";
import type { RouterOutputs } from "../../lib/types";
import { useTRPC } from "../providers";

type Registered = RouterOutputs["operator"]["register"];
type NeuronRow = RouterOutputs["operator"]["neurons"][number];

export function OperatorView() {
  return (
    <SignedInPage title="Operator">
      <p className="muted">
        Run a <strong>neuron</strong> on a machine with spare CPU or GPU: it serves models to the fabric and
        you earn credits for every token it serves.
      </p>
      <Earnings />
      <Register />
      <Neurons />
      <Ledger />
    </SignedInPage>
  );
}

function Earnings() {
  const trpc = useTRPC();
  const balance = useQuery({ ...trpc.operator.balance.queryOptions(), refetchInterval: 5000 });
  return (
    <Card titleId="earnings-title" title="Earnings">
      <QueryState query={balance} skeletonRows={1}>
        {(data) => (
          <dl className="stat-grid">
            <Stat label="Earned" main testId="operator-earnings">
              {formatCredits(data.balance)}
            </Stat>
          </dl>
        )}
      </QueryState>
    </Card>
  );
}

function Register() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [registered, setRegistered] = useState<Registered | null>(null);
  const register = useMutation(
    trpc.operator.register.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.operator.neurons.queryKey() }),
    }),
  );

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const parsed = registerNeuronInputSchema.safeParse({ name });
    if (!parsed.success) {
      setErrors(z.flattenError(parsed.error).fieldErrors);
      return;
    }
    setErrors({});
    register.mutate(parsed.data, {
      onSuccess: (data) => {
        setRegistered(data);
        setName("");
      },
      onError: (error) => setErrors(fieldErrorsOf(error)),
    });
  }

  return (
    <Card titleId="register-title" title="Register a neuron">
      <form className="form form-inline" onSubmit={submit} noValidate>
        <InputField
          id="neuron-name"
          label="Neuron name"
          hint="e.g. “office-gpu”."
          error={errors.name?.[0]}
          required
          maxLength={80}
          value={name}
          onValueChange={setName}
        />
        <div className="form-submit">
          <button type="submit" className="button button-primary" disabled={register.isPending}>
            {register.isPending ? "Registering…" : "Register"}
          </button>
        </div>
      </form>
      {register.isError && Object.keys(errors).length === 0 ? <ErrorNote error={register.error} /> : null}
      {registered ? (
        <div className="card-highlight inset">
          <p>
            <strong>Copy this now: the token is shown only this once.</strong> Run the command on the machine
            that will serve; it connects to cortex and shows up below as online.
          </p>
          <p className="small muted">Token</p>
          <div className="secret-box">
            <code>{registered.token}</code>
            <CopyButton text={registered.token} label="Copy token" />
          </div>
          <p className="small muted">Command</p>
          <div className="snippet">
            <pre>
              <code data-testid="neuron-command">{registered.command}</code>
            </pre>
            <CopyButton text={registered.command} label="Copy command" />
          </div>
          <p className="small muted">
            Add <code>--model PATH|URL</code> to serve a model file, or <code>--upstream-url</code> to front
            Ollama, vLLM or llama-server.
          </p>
          <button type="button" className="button" onClick={() => setRegistered(null)}>
            I have saved it
          </button>
        </div>
      ) : null}
    </Card>
  );
}

function Hardware({ hardware }: { hardware: NeuronRow["hardware"] }) {
  if (!hardware) return <span className="muted">—</span>;
  return (
    <div className="small">
      <div>
        {hardware.cpu} · {hardware.cores} cores
      </div>
      <div>
        {formatBytes(hardware.memoryBytes)} memory{hardware.gpu ? ` · ${hardware.gpu}` : ""}
      </div>
    </div>
  );
}

function Neurons() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const neurons = useQuery({ ...trpc.operator.neurons.queryOptions(), refetchInterval: 3000 });
  const revoke = useMutation(
    trpc.operator.revoke.mutationOptions({
      onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.operator.neurons.queryKey() }),
    }),
  );
  const rows = neurons.data ?? [];
  const online = rows.filter((row) => row.online).length;

  return (
    <Card
      titleId="neurons-title"
      title="Your neurons"
      aside={
        neurons.isSuccess && rows.length > 0 ? (
          <p className="muted small">
            {online} of {rows.length} online · refreshed every 3 s
          </p>
        ) : null
      }
    >
      <QueryState query={neurons} empty="No neurons yet — register one above and run its command.">
        {(data) => (
          <Table
            columns={[
              "Name",
              "Status",
              "Models",
              "Runtime",
              "Hardware",
              { label: "Jobs", numeric: true },
              { label: "Tokens served", numeric: true },
              { label: "Earned", numeric: true },
              "Last seen",
              { label: "Actions", hidden: true },
            ]}
          >
            {data.map((neuron) => (
              <tr
                key={neuron.id}
                data-testid="neuron-row"
                className={neuron.revokedAt ? "row-muted" : undefined}
              >
                <td>
                  <strong>{neuron.name}</strong>
                  <div className="muted small">
                    <code>{neuron.prefix}…</code>
                  </div>
                </td>
                <td>
                  <span
                    className={neuron.online ? "badge badge-ok" : "badge badge-muted"}
                    data-testid="neuron-status"
                  >
                    {neuron.online ? "online" : "offline"}
                  </span>
                  {neuron.revokedAt ? <div className="small muted">revoked</div> : null}
                  {neuron.online && neuron.slots !== null ? (
                    <div className="small muted">
                      {neuron.activeJobs} / {neuron.slots} busy
                    </div>
                  ) : null}
                </td>
                <td>
                  {neuron.models.length === 0 ? (
                    <span className="muted">—</span>
                  ) : (
                    <ul className="plain-list small">
                      {neuron.models.map((model) => (
                        <li key={model.id}>{model.id}</li>
                      ))}
                    </ul>
                  )}
                </td>
                <td className="small">
                  {neuron.runtime ? (
                    `${neuron.runtime.engine} (${neuron.runtime.kind})`
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
                <td>
                  <Hardware hardware={neuron.hardware} />
                </td>
                <td className="num">{formatInteger(neuron.jobs)}</td>
                <td className="num">{formatInteger(neuron.promptTokens + neuron.completionTokens)}</td>
                <td className="num">{formatCredits(neuron.earnings)}</td>
                <td title={neuron.lastSeenAt ? formatDateTime(neuron.lastSeenAt) : undefined}>
                  {neuron.online ? "now" : neuron.lastSeenAt ? formatAgo(neuron.lastSeenAt) : "never"}
                </td>
                <td>
                  {neuron.revokedAt ? null : (
                    <button
                      type="button"
                      className="button button-small button-danger"
                      disabled={revoke.isPending && revoke.variables?.id === neuron.id}
                      onClick={() => {
                        if (
                          window.confirm(
                            `Revoke “${neuron.name}”? It is disconnected now and its token stops working for good.`,
                          )
                        ) {
                          revoke.mutate({ id: neuron.id });
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

function Ledger() {
  const trpc = useTRPC();
  const earnings = useQuery({
    ...trpc.operator.earnings.queryOptions({ limit: 50 }),
    refetchInterval: 5000,
  });
  return (
    <Card titleId="ledger-title" title="Earnings ledger">
      <QueryState query={earnings} empty="No earnings yet — they appear here as your neurons serve requests.">
        {(data) => (
          <Table columns={["When", "Description", { label: "Amount", numeric: true }]}>
            {data.map((row) => (
              <tr key={row.entryId}>
                <td>{formatDateTime(row.at)}</td>
                <td>{row.description ?? row.transactionKind}</td>
                <td className={row.amount < 0 ? "num amount-out" : "num amount-in"}>
                  {formatSignedCredits(row.amount)}
                </td>
              </tr>
            ))}
          </Table>
        )}
      </QueryState>
    </Card>
  );
}
