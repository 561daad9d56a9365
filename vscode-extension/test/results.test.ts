import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { describeSummary, summarizeResult } from "../src/results";

describe("summarizeResult", () => {
  it("reads snake_case results", () => {
    const s = summarizeResult({
      request_id: "r-42",
      tier: "local",
      model: "qwen2.5-coder:7b",
      cost_usd: 0,
      confidence: 0.93,
      attempts: [{ tier: "local" }],
      answer: "It sums the areas.",
    });
    assert.deepEqual(s, {
      requestId: "r-42",
      tier: "local",
      model: "qwen2.5-coder:7b",
      costUsd: 0,
      confidence: 0.93,
      attempts: 1,
      text: "It sums the areas.",
    });
  });

  it("reads camelCase results and numeric ids", () => {
    const s = summarizeResult({ requestId: 7, costUsd: 0.002, attempts: 2, text: "done", applied: true });
    assert.deepEqual(s, { requestId: "7", costUsd: 0.002, attempts: 2, text: "done", applied: true });
  });

  it("treats a string as text and ignores other values", () => {
    assert.deepEqual(summarizeResult("Today: 3 requests"), { text: "Today: 3 requests" });
    assert.deepEqual(summarizeResult(null), {});
    assert.deepEqual(summarizeResult(3), {});
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
