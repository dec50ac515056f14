// SPDX-License-Identifier: PolyForm-Shield-1.0
// The landing page: what helexa is, live counts from the fabric, and where to start.

import Link from "next/link";
import { LiveStats } from "./live-stats";

export default function HomePage() {
  return (
    <div className="landing">
      <section className="hero" aria-labelledby="hero-title">
        <p className="eyebrow">An open distributed AI fabric</p>
        <h1 id="hero-title">Language models served by everyone&apos;s spare compute</h1>
        <p className="lead">
          helexa pools machines from many people into one fabric. Send requests to an OpenAI-compatible API,
          pay only for the tokens you use, and earn credits when your own hardware serves others.
        </p>
        <div className="actions">
          <Link href="/signup" className="button button-primary">
            Create an account
          </Link>
          <Link href="/chat" className="button">
            Try the chat
          </Link>
          <Link href="/operator" className="button">
            Run a neuron
          </Link>
        </div>
      </section>

      <LiveStats />

      <section aria-labelledby="how-title" className="features">
        <h2 id="how-title">How it works</h2>
        <ul className="feature-grid">
          <li className="card">
            <h3>Pooled compute</h3>
            <p>
              <strong>Neurons</strong> — machines run by operators — connect to <strong>cortex</strong>, which
              places each request on a neuron serving the model and meters every token.
            </p>
          </li>
          <li className="card">
            <h3>OpenAI-compatible API</h3>
            <p>
              Point any OpenAI client at helexa with an API key: chat completions, streaming, the same request
              shapes you already use. Prices are per million tokens, shown before you send.
            </p>
          </li>
          <li className="card">
            <h3>Operators earn</h3>
            <p>
              Register a neuron, run one command on a machine with a CPU or GPU, and earn credits for every
              token it serves. Watch it online, its jobs and its earnings live.
            </p>
          </li>
          <li className="card">
            <h3>Donate a tab</h3>
            <p>
              A browser can serve small models too: leave a tab open and it becomes part of the fabric, no
              install needed. <Link href="/donate">Donate a tab</Link>.
            </p>
          </li>
        </ul>
      </section>

      <section className="cta card" aria-labelledby="cta-title">
        <h2 id="cta-title">Start in a minute</h2>
        <ol className="steps">
          <li>
            <Link href="/signup">Sign up</Link> and <Link href="/credits">add credits</Link>.
          </li>
          <li>
            <Link href="/keys">Create an API key</Link>.
          </li>
          <li>
            Call <code>/v1/chat/completions</code> with any OpenAI SDK — or just{" "}
            <Link href="/chat">chat</Link>.
          </li>
        </ol>
      </section>
    </div>
  );
}
