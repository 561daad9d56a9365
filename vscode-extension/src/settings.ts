/**
 * Maps the extension's `agenticOptimizer.*` settings onto the server's settings.
 *
 * Settings are declared once, in package.json `contributes.configuration`. Every key except the
 * client-only ones (how to start the server, tracing) is a server setting: `routing.escalateBelow`
 * becomes `{ routing: { escalateBelow: ... } }`, which the server reads as `routing.escalate_below`.
 *
 * Only values the user actually set are sent. Defaults are left out on purpose: the server applies
 * its own defaults, then `agentic-optimizer.toml`, then what the editor sends, so sending defaults
 * would silently override the project's settings file.
 *
 * No `vscode` import here, so this module is unit-tested under plain Node.
 */

export const SECTION = "agenticOptimizer";

/** Keys (relative to the section) that configure the client, not the server. */
export const CLIENT_ONLY_PREFIXES: readonly string[] = ["server.", "trace."];

/** Settings whose change means the server process must be started again. */
export const RESTART_PREFIXES: readonly string[] = ["server."];

export type JsonObject = { [key: string]: unknown };

/** What `WorkspaceConfiguration.inspect` reports for one key (the fields this module reads). */
export interface Inspection {
  defaultValue?: unknown;
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

/** Strip the section prefix from a contributed property name; undefined if it is not ours. */
export function relativeKey(property: string): string | undefined {
  const prefix = `${SECTION}.`;
  return property.startsWith(prefix) ? property.slice(prefix.length) : undefined;
}

export function isClientOnly(key: string): boolean {
  return CLIENT_ONLY_PREFIXES.some((p) => key.startsWith(p));
}

export function needsRestart(key: string): boolean {
  return RESTART_PREFIXES.some((p) => key.startsWith(p));
}

/** The keys (relative to the section) of the server settings declared in package.json. */
export function serverSettingKeys(properties: Readonly<Record<string, unknown>>): string[] {
  const keys: string[] = [];
  for (const property of Object.keys(properties)) {
    const key = relativeKey(property);
    if (key !== undefined && !isClientOnly(key)) {
      keys.push(key);
    }
  }
  return keys;
}

/**
 * The value the user set for a key, most specific scope first; undefined when only the default
 * applies. `null` is a real value (e.g. `budget.perRequestUsd: null` means no limit).
 */
export function explicitValue(inspection: Inspection | undefined): unknown {
  if (inspection === undefined) {
    return undefined;
  }
  for (const value of [inspection.workspaceFolderValue, inspection.workspaceValue, inspection.globalValue]) {
    if (value !== undefined) {
      return value;
    }
  }
  return undefined;
}

/**
 * Nested camelCase settings for the server from dotted keys. `valueOf` returns undefined for a
 * key the user did not set; such keys are left out.
 */
export function buildServerSettings(
  keys: readonly string[],
  valueOf: (key: string) => unknown,
): JsonObject {
  const root: JsonObject = {};
  for (const key of keys) {
    const value = valueOf(key);
    if (value === undefined) {
      continue;
    }
    const parts = key.split(".");
    let node = root;
    for (const part of parts.slice(0, -1)) {
      const child = node[part];
      if (typeof child === "object" && child !== null && !Array.isArray(child)) {
        node = child as JsonObject;
      } else {
        const fresh: JsonObject = {};
        node[part] = fresh;
        node = fresh;
      }
    }
    node[parts[parts.length - 1]] = clone(value);
  }
  return root;
}

/** Settings as the server expects them in initializationOptions / didChangeConfiguration. */
export function wrapForServer(settings: JsonObject): JsonObject {
  return { [SECTION]: settings };
}

function clone(value: unknown): unknown {
  // VS Code hands out frozen proxies for object settings; send plain JSON.
  return value === null || typeof value !== "object" ? value : (JSON.parse(JSON.stringify(value)) as unknown);
}
