import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";

import { describeCommand, discoverServer, expandPath, findOnPath, ServerNotFoundError } from "../src/discovery";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ao-discovery-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function executable(dir: string, name: string, mode = 0o755): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, "#!/bin/sh\n");
  fs.chmodSync(file, mode);
  return file;
}

const binA = path.join(tmp, "a");
const binB = path.join(tmp, "b");
const server = executable(binB, "agentic-optimizer");
executable(binA, "agentic-optimizer", 0o644); // not executable: must be skipped
const custom = executable(path.join(tmp, "custom"), "my-server");

const base = { env: { PATH: [binA, binB].join(":") }, platform: "linux", homeDir: tmp };

describe("discoverServer", () => {
  it("uses the server.path setting first", () => {
    const cmd = discoverServer({ ...base, configuredPath: custom, extraArgs: ["--log-level", "debug"] });
    assert.deepEqual(cmd, { command: custom, args: ["serve", "--log-level", "debug"], source: "setting" });
  });

  it("expands ${workspaceFolder} and ~ in server.path", () => {
    const viaFolder = discoverServer({ ...base, configuredPath: "${workspaceFolder}/custom/my-server", workspaceFolder: tmp });
    assert.equal(viaFolder.command, custom);
    const viaHome = discoverServer({ ...base, configuredPath: "~/custom/my-server" });
    assert.equal(viaHome.command, custom);
  });

  it("looks a bare server.path up on PATH", () => {
    const cmd = discoverServer({ ...base, env: { PATH: path.join(tmp, "custom") }, configuredPath: "my-server" });
    assert.equal(cmd.command, custom);
  });

  it("refuses a server.path that is not an executable file", () => {
    assert.throws(
      () => discoverServer({ ...base, configuredPath: path.join(tmp, "missing") }),
      (err: unknown) => err instanceof ServerNotFoundError && /agenticOptimizer\.server\.path/.test(err.message),
    );
    assert.throws(() => discoverServer({ ...base, configuredPath: binA }), ServerNotFoundError);
  });

  it("then finds agentic-optimizer on PATH, skipping files that cannot run", () => {
    const cmd = discoverServer({ ...base, configuredPath: "  " });
    assert.deepEqual(cmd, { command: server, args: ["serve"], source: "path" });
  });

  it("then runs the Python module with the selected interpreter", () => {
    const cmd = discoverServer({ ...base, env: { PATH: binA }, pythonPath: "${workspaceFolder}/.venv/bin/python", workspaceFolder: "/proj" });
    assert.deepEqual(cmd, { command: "/proj/.venv/bin/python", args: ["-m", "lsp_server", "serve"], source: "python" });
  });

  it("defaults the interpreter to python3 (python on Windows)", () => {
    assert.equal(discoverServer({ ...base, env: {} }).command, "python3");
    assert.equal(discoverServer({ ...base, env: {}, platform: "win32", isExecutable: () => false }).command, "python");
  });

  it("describes what it starts and why", () => {
    const text = describeCommand({ command: "python3", args: ["-m", "lsp_server", "serve"], source: "python" });
    assert.match(text, /^python3 -m lsp_server serve \(.*Python module\)$/);
  });
});

describe("findOnPath", () => {
  it("tries PATHEXT extensions on Windows", () => {
    const seen: string[] = [];
    const found = findOnPath(
      "agentic-optimizer",
      { Path: "C:\\tools;C:\\venv\\Scripts", PATHEXT: ".COM;.EXE" },
      "win32",
      (f) => {
        seen.push(f);
        return f === "C:\\venv\\Scripts\\agentic-optimizer.exe";
      },
    );
    assert.equal(found, "C:\\venv\\Scripts\\agentic-optimizer.exe");
    assert.deepEqual(seen.slice(0, 2), ["C:\\tools\\agentic-optimizer.com", "C:\\tools\\agentic-optimizer.exe"]);
  });

  it("returns undefined when nothing matches", () => {
    assert.equal(findOnPath("nope", { PATH: binB }, "linux"), undefined);
  });
});

describe("expandPath", () => {
  it("expands ${env:NAME} and ${userHome}", () => {
    const out = expandPath("${env:VENV}/bin/python", { homeDir: "/Users/u", env: { VENV: "/opt/v" } });
    assert.equal(out, "/opt/v/bin/python");
    assert.equal(expandPath("${userHome}/x", { homeDir: "/Users/u", env: {} }), "/Users/u/x");
  });
});
