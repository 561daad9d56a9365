import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";

import {
  buildServerSettings,
  explicitValue,
  isClientOnly,
  needsRestart,
  relativeKey,
  serverSettingKeys,
  wrapForServer,
} from "../src/settings";

// out/test/settings.test.js -> ../../package.json
const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8")) as {
  contributes: { configuration: { properties: Record<string, { default?: unknown }> } };
};
const properties = pkg.contributes.configuration.properties;

describe("serverSettingKeys", () => {
  const keys = serverSettingKeys(properties);

  it("lists the server's settings declared in package.json", () => {
    for (const key of ["models", "routing.escalateBelow", "budget.dailyUsd", "privacy.exclude", "stateDir", "log.level"]) {
      assert.ok(keys.includes(key), `${key} missing`);
    }
  });

  it("leaves out the client-only settings", () => {
    for (const key of ["server.path", "server.args", "trace.server"]) {
      assert.ok(!keys.includes(key), `${key} should be client-only`);
    }
    assert.equal(keys.length, Object.keys(properties).length - 3);
  });

  it("ignores properties outside the section", () => {
    assert.deepEqual(serverSettingKeys({ "other.thing": {}, "agenticOptimizer.budget.dailyUsd": {} }), ["budget.dailyUsd"]);
    assert.equal(relativeKey("agenticOptimizerX.a"), undefined);
  });

  it("declares a default for every setting", () => {
    for (const [name, schema] of Object.entries(properties)) {
      assert.ok("default" in schema, `${name} has no default`);
    }
  });
});

describe("explicitValue", () => {
  it("prefers the folder, then the workspace, then the user value", () => {
    assert.equal(explicitValue({ defaultValue: 1, globalValue: 2, workspaceValue: 3, workspaceFolderValue: 4 }), 4);
    assert.equal(explicitValue({ defaultValue: 1, globalValue: 2, workspaceValue: 3 }), 3);
    assert.equal(explicitValue({ defaultValue: 1, globalValue: 2 }), 2);
  });

  it("never returns the default, so agentic-optimizer.toml keeps precedence", () => {
    assert.equal(explicitValue({ defaultValue: 0.85 }), undefined);
    assert.equal(explicitValue(undefined), undefined);
  });

  it("keeps an explicit null", () => {
    assert.equal(explicitValue({ defaultValue: 5, globalValue: null }), null);
  });
});

describe("buildServerSettings", () => {
  it("nests dotted keys as the server reads them", () => {
    const values: Record<string, unknown> = {
      "routing.escalateBelow": 0.7,
      "routing.maxAttempts": 2,
      "budget.dailyUsd": 0.25,
      stateDir: "/var/lib/agentic/state",
      models: [{ name: "local", provider: "ollama", model: "qwen2.5-coder:7b", tier: "local" }],
    };
    const out = buildServerSettings(serverSettingKeys(properties), (k) => values[k]);
    assert.deepEqual(out, {
      models: [{ name: "local", provider: "ollama", model: "qwen2.5-coder:7b", tier: "local" }],
      routing: { escalateBelow: 0.7, maxAttempts: 2 },
      budget: { dailyUsd: 0.25 },
      stateDir: "/var/lib/agentic/state",
    });
  });

  it("sends nothing when nothing is set", () => {
    assert.deepEqual(buildServerSettings(serverSettingKeys(properties), () => undefined), {});
  });

  it("sends an explicit null (e.g. no per-request limit)", () => {
    const out = buildServerSettings(["budget.perRequestUsd"], () => null);
    assert.deepEqual(out, { budget: { perRequestUsd: null } });
  });

  it("copies object values instead of sharing them", () => {
    const list = ["*.pem"];
    const out = buildServerSettings(["privacy.exclude"], () => list);
    list.push("changed");
    assert.deepEqual(out, { privacy: { exclude: ["*.pem"] } });
  });

  it("wraps under the agenticOptimizer key", () => {
    assert.deepEqual(wrapForServer({ budget: { dailyUsd: 2 } }), { agenticOptimizer: { budget: { dailyUsd: 2 } } });
  });
});

describe("client-only and restart keys", () => {
  it("classifies keys", () => {
    assert.ok(isClientOnly("server.path"));
    assert.ok(isClientOnly("trace.server"));
    assert.ok(!isClientOnly("routing.escalateBelow"));
    assert.ok(needsRestart("server.args"));
    assert.ok(!needsRestart("budget.dailyUsd"));
  });
});
