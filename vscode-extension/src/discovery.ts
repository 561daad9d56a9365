/**
 * Finds the language server to start: the `agenticOptimizer.server.path` setting, else
 * `agentic-optimizer` on PATH, else `python -m lsp_server` with the selected interpreter.
 *
 * No `vscode` import here: the caller passes in the settings and environment, so the order of
 * the search is unit-tested under plain Node.
 */

import * as fs from "node:fs";
import * as path from "node:path";

export type ServerSource = "setting" | "path" | "python";

export interface ServerCommand {
  command: string;
  args: string[];
  source: ServerSource;
}

export interface DiscoveryInput {
  /** `agenticOptimizer.server.path`; empty or undefined means "search". */
  configuredPath?: string;
  /** `agenticOptimizer.server.args`: appended after `serve`. */
  extraArgs?: readonly string[];
  /** `python.defaultInterpreterPath` (or the Python extension's selection). */
  pythonPath?: string;
  env: Readonly<Record<string, string | undefined>>;
  platform: string;
  workspaceFolder?: string;
  homeDir: string;
  /** Injected for tests; defaults to a real file-system check. */
  isExecutable?: (file: string) => boolean;
}

export const SERVER_EXECUTABLE = "agentic-optimizer";

/** The server path setting names something that cannot be run. */
export class ServerNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ServerNotFoundError";
  }
}

/** Expand `~`, `${userHome}`, `${workspaceFolder}` and `${env:NAME}` as VS Code users expect. */
export function expandPath(
  value: string,
  ctx: { workspaceFolder?: string; homeDir: string; env: Readonly<Record<string, string | undefined>> },
): string {
  let out = value.trim();
  out = out.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => ctx.env[name] ?? "");
  out = out.replace(/\$\{userHome\}/g, ctx.homeDir);
  if (ctx.workspaceFolder !== undefined) {
    out = out.replace(/\$\{workspaceFolder\}/g, ctx.workspaceFolder);
  }
  if (out === "~" || out.startsWith("~/") || out.startsWith("~\\")) {
    out = path.join(ctx.homeDir, out.slice(1));
  }
  return out;
}

export function defaultIsExecutable(file: string): boolean {
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) {
      return false;
    }
    if (process.platform === "win32") {
      return true;
    }
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable called `name` on PATH (with PATHEXT on Windows), or undefined. */
export function findOnPath(
  name: string,
  env: Readonly<Record<string, string | undefined>>,
  platform: string,
  isExecutable: (file: string) => boolean = defaultIsExecutable,
): string | undefined {
  const windows = platform === "win32";
  const pathVar = (windows ? (env.Path ?? env.PATH) : env.PATH) ?? "";
  const separator = windows ? ";" : ":";
  const impl = windows ? path.win32 : path.posix;
  const extensions = windows
    ? (env.PATHEXT ?? ".COM;.EXE;.BAT;.CMD").split(";").filter((e) => e.length > 0)
    : [""];
  for (const dir of pathVar.split(separator)) {
    if (dir.length === 0) {
      continue;
    }
    for (const ext of extensions) {
      const candidate = impl.join(dir, name + ext.toLowerCase());
      if (isExecutable(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

/** The command line that starts the server over stdio. */
export function discoverServer(input: DiscoveryInput): ServerCommand {
  const isExecutable = input.isExecutable ?? defaultIsExecutable;
  const extra = [...(input.extraArgs ?? [])];
  const ctx = { workspaceFolder: input.workspaceFolder, homeDir: input.homeDir, env: input.env };

  const configured = input.configuredPath?.trim() ?? "";
  if (configured.length > 0) {
    const expanded = expandPath(configured, ctx);
    const looksLikePath = expanded.includes("/") || expanded.includes("\\");
    const resolved = looksLikePath ? expanded : findOnPath(expanded, input.env, input.platform, isExecutable);
    if (resolved === undefined || !isExecutable(resolved)) {
      throw new ServerNotFoundError(
        `agenticOptimizer.server.path = ${JSON.stringify(configured)}: no executable file there`,
      );
    }
    return { command: resolved, args: ["serve", ...extra], source: "setting" };
  }

  const onPath = findOnPath(SERVER_EXECUTABLE, input.env, input.platform, isExecutable);
  if (onPath !== undefined) {
    return { command: onPath, args: ["serve", ...extra], source: "path" };
  }

  const interpreter = input.pythonPath?.trim() ?? "";
  const python =
    interpreter.length > 0 ? expandPath(interpreter, ctx) : input.platform === "win32" ? "python" : "python3";
  return { command: python, args: ["-m", "lsp_server", "serve", ...extra], source: "python" };
}

/** One line for the log: what will be started and why. */
export function describeCommand(cmd: ServerCommand): string {
  const why = {
    setting: "from agenticOptimizer.server.path",
    path: "found on PATH",
    python: "agentic-optimizer not on PATH; using the Python module",
  }[cmd.source];
  return `${[cmd.command, ...cmd.args].join(" ")} (${why})`;
}
