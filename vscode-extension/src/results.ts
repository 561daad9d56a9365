/**
 * Reading what `workspace/executeCommand` returns.
 *
 * Results carry the request id, tier, model, cost, confidence and attempts; explanations and
 * metrics carry text. Keys may come snake_case (the server's JSON) or camelCase. No `vscode`
 * import: unit-tested under Node.
 */

export interface ResultSummary {
  requestId?: string;
  tier?: string;
  model?: string;
  costUsd?: number;
  confidence?: number;
  attempts?: number;
  text?: string;
  applied?: boolean;
}

type Rec = Record<string, unknown>;

function pick(rec: Rec, ...names: string[]): unknown {
  for (const name of names) {
    if (rec[name] !== undefined && rec[name] !== null) {
      return rec[name];
    }
  }
  return undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** The fields of a command result this client shows; tolerant of missing fields. */
export function summarizeResult(value: unknown): ResultSummary {
  if (typeof value === "string") {
    return { text: value };
  }
  if (typeof value !== "object" || value === null) {
    return {};
  }
  const rec = value as Rec;
  const summary: ResultSummary = {};
  const requestId = pick(rec, "request_id", "requestId", "id");
  if (typeof requestId === "string" || typeof requestId === "number") {
    summary.requestId = String(requestId);
  }
  summary.tier = str(pick(rec, "tier"));
  summary.model = str(pick(rec, "model"));
  summary.costUsd = num(pick(rec, "cost_usd", "costUsd", "cost"));
  summary.confidence = num(pick(rec, "confidence"));
  const attempts = pick(rec, "attempts");
  summary.attempts = Array.isArray(attempts) ? attempts.length : num(attempts);
  summary.text = str(pick(rec, "text", "answer", "markdown", "explanation", "message", "summary"));
  const applied = pick(rec, "applied");
  if (typeof applied === "boolean") {
    summary.applied = applied;
  }
  for (const key of Object.keys(summary) as (keyof ResultSummary)[]) {
    if (summary[key] === undefined) {
      delete summary[key];
    }
  }
  return summary;
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

/** What `agentic.feedback` accepts after the request id. */
export type Verdict = "accept" | "reject" | number;
