/**
 * Reading what `workspace/executeCommand` returns and what a resolved code action keeps.
 *
 * Every field is read by its wire name (`./wire`, mirroring `lsp_server/wire.py`). A missing
 * or mistyped field is left out rather than guessed. No `vscode` import: unit-tested under Node.
 */

import { type MetricsResult, received, type ReindexResult, type ResolvedActionData, type ResultJson } from "./wire";

/** What this client shows of a `ResultJson`. */
export interface ResultSummary {
  requestId?: string;
  tier?: string;
  model?: string;
  costUsd?: number;
  confidence?: number;
  attempts?: number;
  answer?: string;
  applied?: boolean;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** The fields of an ask/explain/runAction result this client shows; tolerant of missing fields. */
export function summarizeResult(value: unknown): ResultSummary {
  const result = received<ResultJson>(value);
  if (result === undefined) {
    return {};
  }
  const summary: ResultSummary = {
    requestId: str(result.request_id),
    tier: str(result.tier),
    model: str(result.model),
    costUsd: num(result.cost_usd),
    confidence: num(result.confidence),
    attempts: Array.isArray(result.attempts) ? result.attempts.length : undefined,
    answer: str(result.answer),
    applied: typeof result.applied === "boolean" ? result.applied : undefined,
  };
  for (const key of Object.keys(summary) as (keyof ResultSummary)[]) {
    if (summary[key] === undefined) {
      delete summary[key];
    }
  }
  return summary;
}

/** The request id a resolved code action keeps in its `data`, for feedback. */
export function resolvedRequestId(data: unknown): string | undefined {
  return str(received<ResolvedActionData>(data)?.request_id);
}

/** The text of an `agentic.showMetrics` result. */
export function metricsText(value: unknown): string | undefined {
  return str(received<MetricsResult>(value)?.text);
}

/** One line for an `agentic.reindex` result. */
export function reindexMessage(value: unknown): string {
  const files = num(received<ReindexResult>(value)?.files);
  return files === undefined ? "index updated" : `indexed ${files} files`;
}

/** One line such as "request r-12 · local (qwen2.5-coder) · $0 · confidence 0.93 · 1 attempt". */
export function describeSummary(summary: ResultSummary): string {
  const parts: string[] = [];
  if (summary.requestId !== undefined) {
    parts.push(`request ${summary.requestId}`);
  }
  if (summary.tier !== undefined) {
    parts.push(summary.model !== undefined ? `${summary.tier} (${summary.model})` : summary.tier);
  } else if (summary.model !== undefined) {
    parts.push(summary.model);
  }
  if (summary.costUsd !== undefined) {
    parts.push(`$${summary.costUsd.toFixed(summary.costUsd === 0 ? 0 : 4)}`);
  }
  if (summary.confidence !== undefined) {
    parts.push(`confidence ${summary.confidence.toFixed(2)}`);
  }
  if (summary.attempts !== undefined) {
    parts.push(`${summary.attempts} attempt${summary.attempts === 1 ? "" : "s"}`);
  }
  return parts.join(" · ");
}
