/**
 * Status-bar text for the server's `agentic/spend` notification: today's spend and savings.
 *
 * The server sends `SpendParams` (`./wire`) after each request: `spent_usd`, `premium_usd` (what
 * the same work would have cost on the premium tier), `saved_usd`, `requests`, and `request_id`,
 * the request that just finished (null when none did), which "feedback on the last result" uses.
 * A malformed notification is ignored rather than shown as NaN. No `vscode` import: unit-tested
 * under Node.
 */

import { received, type SpendParams } from "./wire";

export const SPEND_NOTIFICATION = "agentic/spend";

export interface Spend {
  spentUsd: number;
  premiumUsd: number;
  savedUsd: number;
  requests: number;
  /** The request that just finished, for feedback; absent when none did. */
  requestId?: string;
}

export interface StatusText {
  text: string;
  tooltip: string;
}

function finiteNumber(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** Validate the notification's params; undefined when a required field is missing or not a number. */
export function parseSpend(params: unknown): Spend | undefined {
  const p = received<SpendParams>(params);
  if (p === undefined) {
    return undefined;
  }
  const spent = finiteNumber(p.spent_usd);
  const premium = finiteNumber(p.premium_usd);
  const saved = finiteNumber(p.saved_usd);
  const requests = finiteNumber(p.requests);
  if (spent === undefined || premium === undefined || saved === undefined || requests === undefined) {
    return undefined;
  }
  const spend: Spend = { spentUsd: spent, premiumUsd: premium, savedUsd: saved, requests: Math.trunc(requests) };
  if (typeof p.request_id === "string" && p.request_id.length > 0) {
    spend.requestId = p.request_id;
  }
  return spend;
}

/**
 * Dollars with enough digits to be meaningful: cents from $0.10 up, otherwise up to four
 * significant decimals so a $0.0004 local-model day does not read as "$0.00".
 */
export function formatUsd(amount: number): string {
  const sign = amount < 0 ? "-" : "";
  const abs = Math.abs(amount);
  if (abs === 0) {
    return "$0";
  }
  if (abs >= 0.1) {
    return `${sign}$${abs.toFixed(2)}`;
  }
  if (abs < 0.0001) {
    return `${sign}<$0.0001`;
  }
  return `${sign}$${abs.toFixed(4).replace(/0+$/, "")}`;
}

export function formatStatus(spend: Spend): StatusText {
  const text = `$(graph) ${formatUsd(spend.spentUsd)} · saved ${formatUsd(spend.savedUsd)}`;
  const plural = spend.requests === 1 ? "request" : "requests";
  const tooltip =
    `Agentic Optimizer today: ${spend.requests} ${plural}, spent ${formatUsd(spend.spentUsd)}; ` +
    `on the premium tier alone it would have cost ${formatUsd(spend.premiumUsd)} ` +
    `(saved ${formatUsd(spend.savedUsd)}). Click for metrics.`;
  return { text, tooltip };
}

/** Before the first notification. */
export function idleStatus(): StatusText {
  return { text: "$(graph) AI $0", tooltip: "Agentic Optimizer: no request yet today. Click for metrics." };
}
