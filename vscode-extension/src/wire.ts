/**
 * What the server sends and receives outside plain LSP, field for field as `lsp_server/wire.py`
 * types it (snake_case, as on the wire; see there for what each field means). The other modules
 * read server payloads only through these types, so the compiler holds them to these names, and
 * tests/editors/test_wire_fields.py checks that each interface has exactly the fields of the
 * Python TypedDict of the same name (and each argument tuple the NamedTuple's fields, in order).
 * Types, and one helper to read a payload field by field. No `vscode` import.
 */

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

/** `agentic.feedback`'s verdict: accept, reject or a rating 1-5. */
export type Verdict = "accept" | "reject" | number;

/** Command arguments, positional. */
export type AskArgs = [uri: string, range: Range, instruction: string];
export type ExplainArgs = [uri: string, range: Range];
export type FeedbackArgs = [request_id: string, verdict: Verdict];

/** A diagnostic a fix action is about (inside ActionData, which the extension sends back unchanged). */
export interface DiagnosticRef {
  message: string;
  source: string | null;
  code: string | null;
  range: Range | null;
}

/** A resolved code action's `data`. */
export interface ResolvedActionData {
  request_id: string;
}

export interface Usage {
  input: number;
  output: number;
  cache_read: number;
  cache_write: number;
}

export interface Attempt {
  provider: string;
  model: string;
  tier: string;
  confidence: number | null;
  reasons: string[];
  usage: Usage;
  cost_usd: number | null;
  latency_ms: number;
  error: string | null;
  cached: boolean;
  accepted: boolean;
  tool_calls: ToolCall[];
  stopped: string | null;
  judge_of: string | null;
}

/** One tool call of a tool turn, answered from the project index at $0. */
export interface ToolCall {
  name: string;
  args: Record<string, unknown>;
  ok: boolean;
  result_tokens: number;
  error: string | null;
}

/** The result of `agentic.ask`, `agentic.explain` and `agentic.runAction`. */
export interface ResultJson {
  request_id: string;
  kind: string;
  outcome: string;
  answer: string | null;
  diff: string;
  applied?: boolean;
  tier: string | null;
  model: string | null;
  confidence: number | null;
  cost_usd: number;
  premium_cost_usd: number | null;
  elapsed_ms: number;
  attempts: Attempt[];
  notes: string[];
}

export interface FeedbackResult {
  request_id: string;
  recorded: boolean;
}

export interface MetricsResult {
  text: string;
}

/** The result of `agentic.setupModels`: the config file it opened. */
export interface SetupResult {
  config: string;
}

export interface ReindexResult {
  files: number;
  definitions: number;
  references: number;
  parsed: number;
  reused: number;
  removed: number;
  skipped: number;
  with_notes: number;
  elapsed: number;
  capped_at: number | null;
}

/** The params of the `agentic/spend` notification. */
export interface SpendParams {
  spent_usd: number;
  premium_usd: number;
  saved_usd: number;
  requests: number;
  request_id: string | null;
}

/**
 * A payload as it may arrive: any field missing or of another type until checked. Reading a
 * field that `T` does not declare is a compile error.
 */
export type Received<T> = { readonly [K in keyof T]?: unknown };

/** `value` as a payload to check field by field, or undefined when it is not an object. */
export function received<T>(value: unknown): Received<T> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? value : undefined;
}
