// SPDX-License-Identifier: PolyForm-Shield-1.0
// How the portal writes credits, tokens, money, sizes and dates: pure functions, no React.

import { microCreditsPerCredit } from "@helexa/protocol";

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

/** Micro-credits as a credit amount with no unit: "9.99", "0.000123", "1,250". Exact, never rounded. */
export function formatCreditAmount(microCredits: number): string {
  const sign = microCredits < 0 ? "-" : "";
  const absolute = Math.abs(Math.round(microCredits));
  const whole = Math.floor(absolute / microCreditsPerCredit);
  const fraction = String(absolute % microCreditsPerCredit)
    .padStart(6, "0")
    .replace(/0+$/, "");
  return `${sign}${integer.format(whole)}${fraction ? `.${fraction}` : ""}`;
}

/** Micro-credits with the unit: "9.99 credits", "1 credit". */
export function formatCredits(microCredits: number): string {
  const amount = formatCreditAmount(microCredits);
  return `${amount} ${amount === "1" ? "credit" : "credits"}`;
}

/** A ledger movement, signed: "+10 credits", "-0.000123 credits". */
export function formatSignedCredits(microCredits: number): string {
  return microCredits > 0 ? `+${formatCredits(microCredits)}` : formatCredits(microCredits);
}

/** A price in micro-credits per million tokens: "0.5 credits / M tokens". */
export function formatPricePerMillion(microCredits: number): string {
  return `${formatCredits(microCredits)} / M tokens`;
}

/** Credits as a person typed them, to micro-credits; null when it is not a number. */
export function parseCredits(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === "" || !/^\d*(\.\d*)?$/.test(trimmed) || trimmed === ".") return null;
  return Number(trimmed);
}

export function formatTokens(tokens: number): string {
  return `${integer.format(tokens)} ${tokens === 1 ? "token" : "tokens"}`;
}

export function formatInteger(value: number): string {
  return integer.format(value);
}

/** Big counts short: "1.2K", "3.4M". */
export function formatCompact(value: number): string {
  return compact.format(value);
}

/** An amount in a currency's smallest unit (cents): "$10.00". */
export function formatMoney(amount: number, currency: string): string {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency: currency.toUpperCase() }).format(
      amount / 100,
    );
  } catch {
    return `${(amount / 100).toFixed(2)} ${currency.toUpperCase()}`;
  }
}

const binaryUnits = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < binaryUnits.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${binaryUnits[unit]}`;
}

function toDate(value: Date | string | number): Date {
  return value instanceof Date ? value : new Date(value);
}

export function formatDate(value: Date | string | number): string {
  return toDate(value).toLocaleDateString(undefined, { dateStyle: "medium" });
}

export function formatDateTime(value: Date | string | number): string {
  return toDate(value).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** "just now", "5 min ago", "3 h ago", then the date. */
export function formatAgo(value: Date | string | number, now: number = Date.now()): string {
  const seconds = Math.round((now - toDate(value).getTime()) / 1000);
  if (seconds < 45) return "just now";
  if (seconds < 3600) return `${Math.max(1, Math.round(seconds / 60))} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  if (seconds < 7 * 86_400) return `${Math.round(seconds / 86_400)} d ago`;
  return formatDate(value);
}

const dayMs = 86_400_000;

/** A UTC day as "2026-11-01". */
export function utcDay(value: Date | string | number): string {
  if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  return toDate(value).toISOString().slice(0, 10);
}

/** A UTC day `days` after (or before) the one given. */
export function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * dayMs).toISOString().slice(0, 10);
}

/** Every UTC day from `from` to `to`, both included; at most `limit` of them. */
export function daysBetween(from: string, to: string, limit = 400): string[] {
  const days: string[] = [];
  for (let day = from; day <= to && days.length < limit; day = addDays(day, 1)) days.push(day);
  return days;
}

/** A short label for a UTC day: "Nov 1". */
export function formatDayShort(day: string): string {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, {
    month: "short",
    day: "numeric",
    timeZone: "UTC",
  });
}
