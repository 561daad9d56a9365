/**
 * The VS Code side of Agentic Optimizer: starts the language server over stdio and gives it the
 * editor's settings, adds palette commands that call the server's `agentic.*` commands, and shows
 * today's spend in the status bar. All the work happens in the server; this stays thin.
 */

import * as os from "node:os";
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

import { describeCommand, discoverServer, ServerNotFoundError } from "./discovery";
import { describeSummary, metricsText, reindexMessage, resolvedRequestId, summarizeResult } from "./results";
import {
  buildServerSettings,
  explicitValue,
  type JsonObject,
  needsRestart,
  SECTION,
  serverSettingKeys,
  wrapForServer,
} from "./settings";
import { formatStatus, idleStatus, parseSpend, SPEND_NOTIFICATION } from "./status";
import type { AskArgs, ExplainArgs, FeedbackArgs, Range, Verdict } from "./wire";

const CLIENT_ID = "agenticOptimizer";
const CLIENT_NAME = "Agentic Optimizer";

class AgenticExtension implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private readonly serverLog = vscode.window.createOutputChannel(`${CLIENT_NAME} Server`);
  private readonly results = vscode.window.createOutputChannel(CLIENT_NAME);
  private readonly status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  private readonly serverKeys: string[];
  private lastRequestId: string | undefined;

  constructor(private readonly context: vscode.ExtensionContext) {
    const contributes = (context.extension.packageJSON as {
      contributes: { configuration: { properties: Record<string, unknown> } };
    }).contributes;
    this.serverKeys = serverSettingKeys(contributes.configuration.properties);
    this.status.command = "agenticOptimizer.showMetrics";
    this.showStatus(idleStatus());
    this.status.show();
  }

  dispose(): void {
    this.status.dispose();
    this.results.dispose();
    this.serverLog.dispose();
  }

  /** The settings the user set explicitly, nested as the server reads them. */
  serverSettings(): JsonObject {
    const config = vscode.workspace.getConfiguration(SECTION);
    return buildServerSettings(this.serverKeys, (key) => explicitValue(config.inspect(key)));
  }

  async start(): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const config = vscode.workspace.getConfiguration(SECTION);
    let command;
    try {
      command = discoverServer({
        configuredPath: config.get<string>("server.path"),
        extraArgs: config.get<string[]>("server.args") ?? [],
        pythonPath: vscode.workspace.getConfiguration("python").get<string>("defaultInterpreterPath"),
        env: process.env,
        platform: process.platform,
        workspaceFolder: folder,
        homeDir: os.homedir(),
      });
    } catch (err) {
      if (err instanceof ServerNotFoundError) {
        await this.offerSettings(`${CLIENT_NAME}: ${err.message}`);
        return;
      }
      throw err;
    }
    this.serverLog.appendLine(`starting ${describeCommand(command)}`);

    const serverOptions: ServerOptions = {
      command: command.command,
      args: command.args,
      transport: TransportKind.stdio,
      options: folder !== undefined ? { cwd: folder } : {},
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: "file" }],
      initializationOptions: wrapForServer(this.serverSettings()),
      outputChannel: this.serverLog,
      traceOutputChannel: this.serverLog,
      middleware: {
        workspace: {
          // Answer workspace/configuration for our section with the explicit settings only.
          configuration: async (params, token, next) => {
            const answer = await next(params, token);
            if (!Array.isArray(answer)) {
              return answer;
            }
            return params.items.map((item, i): unknown =>
              item.section === SECTION ? this.serverSettings() : (answer[i] as unknown),
            );
          },
        },
        // A resolved code action keeps {request_id} in its data: remember it for feedback.
        resolveCodeAction: async (item, token, next) => {
          const resolved = await next(item, token);
          this.rememberId(resolvedRequestId((resolved as { data?: unknown } | null | undefined)?.data));
          return resolved;
        },
        executeCommand: async (cmd, args, next) => {
          const result: unknown = await next(cmd, args);
          this.remember(result);
          return result;
        },
      },
    };
    const client = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
    client.onNotification(SPEND_NOTIFICATION, (params: unknown) => {
      const spend = parseSpend(params);
      if (spend !== undefined) {
        this.showStatus(formatStatus(spend));
        this.rememberId(spend.requestId);
      }
    });
    this.client = client;
    try {
      await client.start();
    } catch (err) {
      this.client = undefined;
      const hint =
        command.source === "python"
          ? " Install the server (`pip install -e .` in the agentic-optimizer checkout) or set agenticOptimizer.server.path."
          : "";
      await this.offerSettings(`${CLIENT_NAME}: the server did not start: ${message(err)}.${hint}`);
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      try {
        await client.stop();
      } catch (err) {
        this.serverLog.appendLine(`stopping the server: ${message(err)}`);
      }
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
    if (!event.affectsConfiguration(SECTION) && !event.affectsConfiguration("python.defaultInterpreterPath")) {
      return;
    }
    const restart =
      event.affectsConfiguration("python.defaultInterpreterPath") ||
      ["server.path", "server.args"].some((k) => needsRestart(k) && event.affectsConfiguration(`${SECTION}.${k}`));
    if (restart) {
      void this.restart();
      return;
    }
    const client = this.client;
    if (client?.isRunning()) {
      void client.sendNotification(DidChangeConfigurationNotification.type, {
        settings: wrapForServer(this.serverSettings()),
      });
    }
  }

  /**
   * Run one of the server's commands. The server shows its own cancellable progress
   * ($/progress, with the tier being tried); this adds only a status-bar spinner.
   */
  async execute(command: string, args: unknown[], title: string): Promise<unknown> {
    const client = this.client;
    if (client === undefined || !client.isRunning()) {
      void vscode.window.showErrorMessage(`${CLIENT_NAME}: the server is not running (try "Restart server").`);
      return undefined;
    }
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: `${CLIENT_NAME}: ${title}` },
      async (_progress, token) => {
        try {
          const result: unknown = await client.sendRequest(
            ExecuteCommandRequest.type,
            { command, arguments: args },
            token,
          );
          this.remember(result);
          // null: the server already told the user what went wrong (window/showMessage).
          return result ?? undefined;
        } catch (err) {
          if (!token.isCancellationRequested) {
            void vscode.window.showErrorMessage(`${CLIENT_NAME}: ${message(err)}`);
          }
          return undefined;
        }
      },
    );
  }

  /** The selection, or the cursor's line when nothing is selected, as an LSP range. */
  private target(): { uri: string; range: Range } | undefined {
    const editor = vscode.window.activeTextEditor;
    const client = this.client;
    if (editor === undefined || client === undefined) {
      void vscode.window.showErrorMessage(`${CLIENT_NAME}: open a file and select some code first.`);
      return undefined;
    }
    const selection = editor.selection;
    const range = selection.isEmpty ? editor.document.lineAt(selection.active.line).range : selection;
    return {
      uri: client.code2ProtocolConverter.asUri(editor.document.uri),
      range: client.code2ProtocolConverter.asRange(range),
    };
  }

  async ask(): Promise<void> {
    const target = this.target();
    if (target === undefined) {
      return;
    }
    const instruction = await vscode.window.showInputBox({
      title: `${CLIENT_NAME}: Ask`,
      prompt: "What should change in the selection?",
      placeHolder: "e.g. return an error instead of panicking on a negative radius",
      ignoreFocusOut: true,
    });
    if (instruction === undefined || instruction.trim().length === 0) {
      return;
    }
    const args: AskArgs = [target.uri, target.range, instruction.trim()];
    const result = await this.execute("agentic.ask", args, "asking…");
    this.showResult("Ask", result, false);
  }

  async explain(): Promise<void> {
    const target = this.target();
    if (target === undefined) {
      return;
    }
    const args: ExplainArgs = [target.uri, target.range];
    const result = await this.execute("agentic.explain", args, "explaining…");
    this.showResult("Explain", result, true);
  }

  async showMetrics(): Promise<void> {
    const result = await this.execute("agentic.showMetrics", [], "reading metrics…");
    if (result === undefined) {
      return;
    }
    this.results.clear();
    this.results.appendLine(metricsText(result) ?? JSON.stringify(result, undefined, 2));
    this.results.show(true);
  }

  async reindex(): Promise<void> {
    const result = await this.execute("agentic.reindex", [], "indexing the workspace…");
    if (result !== undefined) {
      void vscode.window.showInformationMessage(`${CLIENT_NAME}: ${reindexMessage(result)}`);
    }
  }

  async feedback(): Promise<void> {
    let requestId = this.lastRequestId;
    if (requestId === undefined) {
      requestId = await vscode.window.showInputBox({
        title: `${CLIENT_NAME}: Feedback`,
        prompt: "No result seen in this session yet: which request id?",
        ignoreFocusOut: true,
      });
      if (requestId === undefined || requestId.trim().length === 0) {
        return;
      }
      requestId = requestId.trim();
    }
    const choices: (vscode.QuickPickItem & { verdict: Verdict })[] = [
      { label: "$(check) Accept", description: "the result was right", verdict: "accept" },
      { label: "$(x) Reject", description: "the result was wrong", verdict: "reject" },
      ...[5, 4, 3, 2, 1].map((n) => ({ label: `${"★".repeat(n)}${"☆".repeat(5 - n)}`, description: `rate ${n} of 5`, verdict: n })),
    ];
    const picked = await vscode.window.showQuickPick(choices, { title: `${CLIENT_NAME}: feedback on request ${requestId}` });
    if (picked === undefined) {
      return;
    }
    const args: FeedbackArgs = [requestId, picked.verdict];
    const result = await this.execute("agentic.feedback", args, "recording feedback…");
    if (result !== undefined) {
      void vscode.window.showInformationMessage(`${CLIENT_NAME}: feedback recorded for request ${requestId}.`);
    }
  }

  private showResult(label: string, result: unknown, reveal: boolean): void {
    if (result === undefined || result === null) {
      return;
    }
    const summary = summarizeResult(result);
    const line = describeSummary(summary);
    this.results.appendLine(`── ${label}${line.length > 0 ? ` · ${line}` : ""}`);
    if (summary.answer !== undefined) {
      this.results.appendLine(summary.answer);
    }
    this.results.appendLine("");
    if (reveal || summary.applied === false) {
      this.results.show(true);
    } else if (line.length > 0) {
      vscode.window.setStatusBarMessage(`${CLIENT_NAME}: ${line}`, 8000);
    }
  }

  /** Remember the request id of an ask/explain/runAction result, for feedback. */
  private remember(result: unknown): void {
    this.rememberId(summarizeResult(result).requestId);
  }

  private rememberId(id: string | undefined): void {
    if (id !== undefined) {
      this.lastRequestId = id;
    }
  }

  private showStatus(status: { text: string; tooltip: string }): void {
    this.status.text = status.text;
    this.status.tooltip = status.tooltip;
  }

  private async offerSettings(text: string): Promise<void> {
    const choice = await vscode.window.showErrorMessage(text, "Open settings", "Show log");
    if (choice === "Open settings") {
      await vscode.commands.executeCommand("workbench.action.openSettings", `${SECTION}.server`);
    } else if (choice === "Show log") {
      this.serverLog.show();
    }
  }

  register(): void {
    const commands: [string, () => Promise<void>][] = [
      ["agenticOptimizer.ask", () => this.ask()],
      ["agenticOptimizer.explain", () => this.explain()],
      ["agenticOptimizer.showMetrics", () => this.showMetrics()],
      ["agenticOptimizer.reindex", () => this.reindex()],
      ["agenticOptimizer.restartServer", () => this.restart()],
      ["agenticOptimizer.feedback", () => this.feedback()],
    ];
    for (const [id, run] of commands) {
      this.context.subscriptions.push(vscode.commands.registerCommand(id, run));
    }
    this.context.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration((e) => this.onConfigurationChanged(e)),
    );
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

let extension: AgenticExtension | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  extension = new AgenticExtension(context);
  context.subscriptions.push(extension);
  extension.register();
  await extension.start();
}

export async function deactivate(): Promise<void> {
  await extension?.stop();
  extension = undefined;
}
