import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { formatStatus, formatUsd, idleStatus, parseSpend } from "../src/status";
import type { SpendParams } from "../src/wire";

describe("parseSpend", () => {
  it("reads the agentic/spend notification, with the request that just finished", () => {
    const params: SpendParams = { spent_usd: 0.0123, premium_usd: 0.41, saved_usd: 0.3977, requests: 7, request_id: "r-1" };
    assert.deepEqual(parseSpend(params), {
      spentUsd: 0.0123,
      premiumUsd: 0.41,
      savedUsd: 0.3977,
      requests: 7,
      requestId: "r-1",
    });
  });

  it("has no request id when none finished", () => {
    const params: SpendParams = { spent_usd: 0, premium_usd: 0, saved_usd: 0, requests: 1, request_id: null };
    assert.equal(parseSpend(params)?.requestId, undefined);
    assert.equal(parseSpend({ spent_usd: 0, premium_usd: 0, saved_usd: 0, requests: 1, requestId: "r-1" })?.requestId, undefined);
  });

  it("rejects malformed params", () => {
    assert.equal(parseSpend(null), undefined);
    assert.equal(parseSpend("x"), undefined);
    assert.equal(parseSpend({ spent_usd: "1", premium_usd: 0, saved_usd: 0, requests: 0 }), undefined);
    assert.equal(parseSpend({ spent_usd: 1, premium_usd: 0, saved_usd: Number.NaN, requests: 0 }), undefined);
    assert.equal(parseSpend({ spent_usd: 1, premium_usd: 0, saved_usd: 0 }), undefined);
  });
});

describe("formatUsd", () => {
  it("shows cents from ten cents up", () => {
    assert.equal(formatUsd(1.234), "$1.23");
    assert.equal(formatUsd(0.1), "$0.10");
  });

  it("keeps small amounts visible", () => {
    assert.equal(formatUsd(0.0042), "$0.0042");
    assert.equal(formatUsd(0.05), "$0.05");
    assert.equal(formatUsd(0.00001), "<$0.0001");
    assert.equal(formatUsd(0), "$0");
    assert.equal(formatUsd(-0.25), "-$0.25");
  });
});

describe("formatStatus", () => {
  it("shows spend and savings, and explains them in the tooltip", () => {
    const status = formatStatus({ spentUsd: 0.0123, premiumUsd: 0.41, savedUsd: 0.3977, requests: 7 });
    assert.equal(status.text, "$(graph) $0.0123 · saved $0.40");
    assert.match(status.tooltip, /7 requests/);
    assert.match(status.tooltip, /\$0\.41/);
    assert.match(status.tooltip, /Click for metrics/);
  });

  it("uses the singular for one request", () => {
    assert.match(formatStatus({ spentUsd: 0, premiumUsd: 0, savedUsd: 0, requests: 1 }).tooltip, /1 request,/);
  });

  it("has an idle text before the first notification", () => {
    assert.match(idleStatus().text, /\$0/);
  });
});
