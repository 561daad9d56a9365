import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { describeSummary, metricsText, reindexMessage, resolvedRequestId, summarizeResult } from "../src/results";
import type { ReindexResult, ResultJson } from "../src/wire";

const RESULT: ResultJson = {
  request_id: "r-42",
  kind: "explain",
  outcome: "accepted",
  answer: "It sums the areas.",
  diff: "",
  tier: "local",
  model: "qwen2.5-coder:7b",
  confidence: 0.93,
  cost_usd: 0,
  premium_cost_usd: 0.004,
  elapsed_ms: 812.5,
  attempts: [
    {
      provider: "local-coder",
      model: "qwen2.5-coder:7b",
      tier: "local",
      confidence: 0.93,
      reasons: [],
      usage: { input: 900, output: 40, cache_read: 0, cache_write: 0 },
      cost_usd: 0,
      latency_ms: 800.1,
      error: null,
      cached: false,
      accepted: true,
      tool_calls: [],
      stopped: null,
      judge_of: null,
    },
  ],
  notes: [],
};

describe("summarizeResult", () => {
  it("reads a command result by its wire names", () => {
    assert.deepEqual(summarizeResult(RESULT), {
      requestId: "r-42",
      tier: "local",
      model: "qwen2.5-coder:7b",
      costUsd: 0,
      confidence: 0.93,
      attempts: 1,
      answer: "It sums the areas.",
    });
    assert.equal(summarizeResult({ ...RESULT, applied: false }).applied, false);
  });

  it("does not guess other spellings", () => {
    assert.deepEqual(summarizeResult({ requestId: "7", id: "8", costUsd: 0.002, text: "done" }), {});
  });

  it("leaves out missing and mistyped fields, and ignores non-objects", () => {
    assert.deepEqual(summarizeResult({ request_id: 7, tier: null, cost_usd: "1", attempts: 2 }), {});
    assert.deepEqual(summarizeResult("Today: 3 requests"), {});
    assert.deepEqual(summarizeResult(null), {});
    assert.deepEqual(summarizeResult([RESULT]), {});
  });
});

describe("other payloads", () => {
  it("reads a resolved action's request id", () => {
    assert.equal(resolvedRequestId({ request_id: "r-9" }), "r-9");
    assert.equal(resolvedRequestId({ kind: "fix" }), undefined);
    assert.equal(resolvedRequestId(undefined), undefined);
  });

  it("reads the metrics text and the reindex file count", () => {
    assert.equal(metricsText({ text: "Daily Metrics" }), "Daily Metrics");
    assert.equal(metricsText({ answer: "x" }), undefined);
    const stats: ReindexResult = {
      files: 12, definitions: 90, references: 300, parsed: 2, reused: 10, removed: 0, skipped: 0,
      with_notes: 0, elapsed: 0.2, capped_at: null,
    };
    assert.equal(reindexMessage(stats), "indexed 12 files");
    assert.equal(reindexMessage(null), "index updated");
  });
});

describe("describeSummary", () => {
  it("puts the useful facts on one line", () => {
    const line = describeSummary({ requestId: "r-1", tier: "budget", model: "m", costUsd: 0.0012, confidence: 0.9, attempts: 2 });
    assert.equal(line, "request r-1 · budget (m) · $0.0012 · confidence 0.90 · 2 attempts");
    assert.equal(describeSummary({ costUsd: 0, attempts: 1 }), "$0 · 1 attempt");
    assert.equal(describeSummary({}), "");
  });
});
