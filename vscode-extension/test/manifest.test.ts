import assert from "node:assert/strict";
import * as fs from "node:fs";
import { builtinModules } from "node:module";
import * as path from "node:path";
import { describe, it } from "node:test";

// out/test/manifest.test.js -> the extension's root
const root = path.join(__dirname, "..", "..");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
  main: string;
  engines: { vscode: string };
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
  repository?: { url?: string };
  contributes: { commands: { command: string }[]; menus: Record<string, { command: string }[]> };
};
const extensionSource = fs.readFileSync(path.join(root, "src", "extension.ts"), "utf8");

describe("package.json", () => {
  it("pins @types/vscode to the engines.vscode floor, so no newer API slips in", () => {
    const floor = pkg.engines.vscode.replace(/^\^/, "");
    assert.equal(pkg.devDependencies["@types/vscode"], floor);
  });

  it("points main at the compiled extension", () => {
    assert.ok(fs.existsSync(path.join(root, pkg.main)), `${pkg.main} missing: run npm run build`);
  });

  it("registers every contributed command", () => {
    for (const { command } of pkg.contributes.commands) {
      assert.ok(extensionSource.includes(`["${command}", `), `${command} is contributed but not registered`);
    }
  });

  it("only puts contributed commands in menus", () => {
    const ids = new Set(pkg.contributes.commands.map((c) => c.command));
    for (const entries of Object.values(pkg.contributes.menus)) {
      for (const { command } of entries) {
        assert.ok(ids.has(command), `${command} in a menu but not contributed`);
      }
    }
  });

  it("calls the server commands by the names the server registers", () => {
    for (const name of ["agentic.ask", "agentic.explain", "agentic.showMetrics", "agentic.reindex", "agentic.feedback"]) {
      assert.ok(extensionSource.includes(`"${name}"`), `${name} not used`);
    }
  });

  it("ships one bundle that needs nothing but vscode and Node's own modules", () => {
    const bundle = fs.readFileSync(path.join(root, pkg.main), "utf8");
    const required = new Set([...bundle.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]));
    const builtins = new Set(builtinModules);
    for (const name of required) {
      assert.ok(name === "vscode" || builtins.has(name.replace(/^node:/, "")), `the bundle requires ${name}`);
    }
    assert.ok(!pkg.scripts.package.includes("--allow-missing-repository"), "set the repository field instead");
    assert.ok(pkg.repository?.url, "package.json needs a repository");
  });
});
