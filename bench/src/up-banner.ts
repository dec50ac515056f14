// SPDX-License-Identifier: PolyForm-Shield-1.0
// Reads what `helexa up` prints once it is up: the gateway URL, the API key and the model.

export interface UpBanner {
  /** The OpenAI base URL, ending in /v1. */
  gatewayUrl: string;
  apiKey: string;
  modelId: string;
  /** The portal's origin, when `up` serves one. */
  portalUrl?: string;
}

/** Null until every line has arrived; the output may hold log lines around the banner. */
export function parseUpBanner(output: string): UpBanner | null {
  const gatewayUrl = /^\s*gateway\s+(http:\/\/\S+\/v1)\s*$/m.exec(output)?.[1];
  const apiKey = /^\s*api key\s+(sk-hx-\S+)\s*$/m.exec(output)?.[1];
  const modelId = /^\s*model\s+(\S+)\s*$/m.exec(output)?.[1];
  if (!gatewayUrl || !apiKey || !modelId) return null;
  const portalUrl = /^\s*portal\s+(http:\/\/\S+)/m.exec(output)?.[1];
  return { gatewayUrl, apiKey, modelId, ...(portalUrl ? { portalUrl } : {}) };
}
