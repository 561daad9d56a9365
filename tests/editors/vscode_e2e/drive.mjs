// Drives code-server (VS Code in the browser) with Playwright as a user would, for
// tests/editors/test_editors_vscode_e2e.py. Every step checks what is on screen; a failed step
// saves a screenshot in AO_E2E_ARTIFACTS and the script exits 1. Replies for the model calls are
// queued on the vendor stand-in (its /_standin/replies control path) just before each step.
//
// Environment: AO_E2E_URL (code-server), AO_E2E_STANDIN (the stand-in's base URL),
// AO_E2E_ARTIFACTS (screenshot folder), AO_E2E_MODE ("full" or "no-model"),
// AO_E2E_DOCS (optional: where to save the README screenshots), PLAYWRIGHT_CORE, CHROMIUM.
import { createRequire } from "node:module";
import * as path from "node:path";

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE);
const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const URL = env("AO_E2E_URL");
const ARTIFACTS = env("AO_E2E_ARTIFACTS");
const MODE = process.env.AO_E2E_MODE ?? "full";
const DOCS = process.env.AO_E2E_DOCS;
const LONG = 60_000;

const browser = await chromium.launch({
  executablePath: env("CHROMIUM"),
  headless: true,
  args: ["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
let failed = false;

async function step(name, run) {
  if (failed) return;
  const started = Date.now();
  try {
    await run();
    console.log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  } catch (err) {
    failed = true;
    const shot = path.join(ARTIFACTS, `${name.replace(/[^a-z0-9]+/gi, "-")}.png`);
    await page.screenshot({ path: shot }).catch(() => undefined);
    console.log(`FAIL ${name}: ${String(err?.message ?? err).split("\n").slice(0, 6).join(" | ")}`);
    console.log(`     screenshot: ${shot}`);
  }
}

async function queueReplies(...replies) {
  const standin = env("AO_E2E_STANDIN").replace(/\/v1$/, "");
  const res = await fetch(`${standin}/_standin/replies`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(replies),
  });
  if (!res.ok) throw new Error(`stand-in refused the replies: ${res.status}`);
}

const editorText = () => page.locator(".editor-instance .monaco-editor .view-lines").first().innerText();
const toasts = page.locator(".notifications-toasts .notification-toast");
const errorToasts = page.locator(".notifications-toasts .notification-toast:has(.codicon-error)");

async function clearNotifications() {
  await runCommand("Notifications: Clear All Notifications");
}

async function runCommand(label, exact = true) {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input.input");
  await input.waitFor({ state: "visible" });
  await input.fill(`>${label}`);
  const row = page.locator(".quick-input-list .monaco-list-row", { hasText: label }).first();
  await row.waitFor({ state: "visible", timeout: 10_000 });
  if (exact) {
    const text = await row.innerText();
    if (!text.includes(label)) throw new Error(`no command "${label}"`);
  }
  await page.keyboard.press("Enter");
}

async function openFile(...parts) {
  // Through the explorer, as a user clicks: folders first, then the file.
  for (const part of parts) {
    const row = page.locator(".explorer-folders-view .monaco-list-row", { hasText: new RegExp(`^${part}$`) }).first();
    await row.waitFor({ state: "visible", timeout: 20_000 });
    await row.click();
  }
  await page.locator(".tab.active", { hasText: parts[parts.length - 1] }).waitFor({ timeout: 20_000 });
  await page.locator(".editor-instance .monaco-editor .view-lines").first().waitFor({ state: "visible" });
}

/** Select whole lines [first, last] (1-based) of the active editor. */
async function selectLines(first, last) {
  await page.keyboard.press("Escape");
  await page.locator(".editor-instance .monaco-editor .view-lines").first().click({ force: true });
  await page.keyboard.press("Control+G");
  await page.keyboard.type(String(first));
  await page.keyboard.press("Enter");
  await page.keyboard.press("Home");
  await page.keyboard.press("Home");
  for (let i = first; i <= last; i++) await page.keyboard.press("Shift+ArrowDown");
}

/** Select lines [first, last] and open the light bulb menu with Ctrl+. */
async function lightBulb(first, last) {
  // The first request may reach the server while it still starts: ask again, as a user would.
  // Escape, which closes an empty menu, also drops the selection, so every try selects again.
  const widget = page.locator(".action-widget");
  for (let attempt = 0; attempt < 20; attempt++) {
    await selectLines(first, last);
    await page.keyboard.press("Control+.");
    try {
      await widget.waitFor({ state: "visible", timeout: 3_000 });
      await page.waitForTimeout(300);
      return widget;
    } catch {
      await page.keyboard.press("Escape");
    }
  }
  throw new Error("Ctrl+. never listed a code action");
}

/** Choose an action in the open light bulb menu with the keyboard (arrows, then Enter). */
async function chooseAction(label) {
  const labels = await page.locator(".action-widget .monaco-list-row.action").evaluateAll(
    (rows) => rows.map((r) => r.getAttribute("aria-label") ?? ""));
  const index = labels.findIndex((l) => l.includes(label));
  if (index < 0) throw new Error(`"${label}" not in ${JSON.stringify(labels)}`);
  const focused = await page.locator(".action-widget .monaco-list-row.action.focused").getAttribute("aria-label").catch(() => labels[0]);
  let at = Math.max(0, labels.indexOf(focused ?? labels[0]));
  while (at < index) { await page.keyboard.press("ArrowDown"); at++; }
  while (at > index) { await page.keyboard.press("ArrowUp"); at--; }
  await page.keyboard.press("Enter");
}

async function waitForText(locator, pattern, what, timeout = LONG) {
  const deadline = Date.now() + timeout;
  let last = "";
  while (Date.now() < deadline) {
    // Monaco renders spaces as no-break spaces.
    last = (await locator.allInnerTexts().catch(() => [])).join("\n").replace(/\u00a0/g, " ");
    if (pattern.test(last)) return last;
    await page.waitForTimeout(250);
  }
  throw new Error(`${what}: ${pattern} not seen; last text: ${JSON.stringify(last.slice(0, 400))}`);
}

const statusItem = page.locator(".statusbar-item", { hasText: /(AI \$0|saved \$)/ });

await step("code-server loads the workspace", async () => {
  await page.goto(URL, { timeout: LONG });
  await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: LONG });
  await page.locator(".explorer-folders-view, .explorer-viewlet").first().waitFor({ timeout: LONG });
});

await step("the extension activates and starts the server without an error", async () => {
  await openFile("src", "lib.rs");
  await waitForText(statusItem, /AI \$0/, "the status bar item");
  // The server answers code actions once it runs; an error notification would mean it did not.
  await lightBulb(10, 12);
  await page.keyboard.press("Escape");
  if ((await errorToasts.count()) > 0) {
    throw new Error(`error notification: ${(await errorToasts.allInnerTexts()).join(" | ")}`);
  }
});

if (MODE === "no-model") {
  await step("a workspace without a usable model says so in the light bulb", async () => {
    const widget = await lightBulb(10, 12);
    const text = await waitForText(widget, /Set up a model/, "the light bulb", 20_000);
    if (!/no model set up/.test(text) || /\$\?/.test(text) || /· local/.test(text)) {
      throw new Error(`titles: ${text}`);
    }
  });
  await step("choosing Set up a model opens agentic-optimizer.toml", async () => {
    await chooseAction("Set up a model");
    await page.locator(".tab.active", { hasText: "agentic-optimizer.toml" }).waitFor({ timeout: 20_000 });
    await waitForText(toasts, /No model is available/, "the message");
  });
} else {
  await step("the light bulb lists every action with tier and cost", async () => {
    const widget = await lightBulb(10, 12);
    const text = await waitForText(widget, /Generate tests/, "the light bulb", 20_000);
    for (const label of ["Simplify selection", "Explain selection", "Document selection", "Generate tests for selection"]) {
      if (!new RegExp(`AI: ${label} · budget · ~\\$0\\.\\d+`).test(text)) {
        throw new Error(`"${label}" with tier and cost missing from: ${text}`);
      }
    }
    if (DOCS) await page.screenshot({ path: path.join(DOCS, "vscode-light-bulb.png") });
  });

  await step("choosing Document applies the edit to the buffer", async () => {
    await queueReplies({
      text: "src/lib.rs\n<<<<<<< SEARCH\npub fn total_area(shapes: &[Box<dyn Shape>]) -> f64 {\n=======\n/// Returns 0.0 for an empty slice.\npub fn total_area(shapes: &[Box<dyn Shape>]) -> f64 {\n>>>>>>> REPLACE\n",
      input: 900, output: 60,
    });
    await lightBulb(10, 12);
    await chooseAction("Document selection");
    await waitForText(page.locator(".editor-instance .monaco-editor .view-lines").first(),
      /Returns 0\.0 for an empty slice/, "the documented buffer");
  });

  await step("the status bar shows today's spend and savings after the request", async () => {
    const text = await waitForText(statusItem, /\$0\.\d+ · saved \$\d/, "the status bar");
    if (/AI \$0/.test(text)) throw new Error(text);
    if (DOCS) {
      const box = await page.locator(".part.statusbar").boundingBox();
      await page.screenshot({ path: path.join(DOCS, "vscode-status-bar.png"),
        clip: { x: box.x + box.width / 2, y: box.y - 60, width: box.width / 2, height: box.height + 60 } });
    }
  });

  await step("Ask about the selection with an instruction applies an edit", async () => {
    await queueReplies({
      text: "src/lib.rs\n<<<<<<< SEARCH\n    shapes.iter().map(|s| s.area()).sum()\n=======\n    shapes.iter().map(|shape| shape.area()).sum()\n>>>>>>> REPLACE\n",
      input: 900, output: 50,
    });
    await selectLines(11, 13);
    await runCommand("Agentic Optimizer: Ask about the selection");
    const box = page.locator(".quick-input-widget input.input");
    await box.waitFor({ state: "visible" });
    await box.fill("name the closure parameter shape");
    await page.keyboard.press("Enter");
    await waitForText(page.locator(".editor-instance .monaco-editor .view-lines").first(),
      /map\(\|shape\| shape\.area\(\)\)/, "the edited buffer");
  });

  await step("Explain shows the answer", async () => {
    await queueReplies({ text: "It adds up the area of every shape in the slice.", input: 800, output: 20 });
    await selectLines(11, 13);
    await runCommand("Agentic Optimizer: Explain the selection");
    await waitForText(page.locator(".part.panel"), /adds up the area of every shape/, "the answer in the output panel");
  });

  await step("a stand-in failure shows one clear error and the server keeps working", async () => {
    await clearNotifications();
    await queueReplies({ status: 500, error_message: "upstream overloaded" });
    await selectLines(11, 13);
    await runCommand("Agentic Optimizer: Explain the selection");
    await waitForText(toasts, /Agentic Optimizer/, "an error notification");
    await page.waitForTimeout(1500);
    const messages = await toasts.allInnerTexts();
    if (messages.length !== 1 || /Traceback|at [A-Za-z]+ \(/.test(messages[0])
        || !/(500|overloaded|failed|unavailable)/i.test(messages[0])) {
      throw new Error(`expected one clear message, got: ${JSON.stringify(messages)}`);
    }
    console.log(`     the message: ${messages[0].split("\n")[0]}`);
    await clearNotifications();
    await queueReplies({ text: "Still here: it sums the areas.", input: 800, output: 10 });
    await runCommand("Agentic Optimizer: Explain the selection");
    await waitForText(page.locator(".part.panel"), /Still here: it sums the areas/, "the next answer");
  });

  await step("a setting changed in the Settings UI reaches the server (maxFiles)", async () => {
    await runCommand("Preferences: Open Settings (UI)");
    const search = page.locator(".settings-editor .suggest-input-container .monaco-editor textarea, .settings-editor input.inputarea").first();
    await search.waitFor({ timeout: 20_000 });
    await page.keyboard.type("agenticOptimizer.context.maxFiles");
    const input = page.locator(".settings-editor .setting-item-contents", { hasText: "Context: Max Files" })
      .locator("input").first();
    await input.waitFor({ state: "visible", timeout: 20_000 });
    await input.click();
    await page.keyboard.press("Control+A");
    await page.keyboard.type("2");
    await page.keyboard.press("Enter");
    await waitForText(page.locator(".settings-editor .setting-item-contents", { hasText: "Context: Max Files" }),
      /Modified/i, "the modified setting", 10_000).catch(() => undefined);
    await page.waitForTimeout(1500);
    await clearNotifications();
    await runCommand("Agentic Optimizer: Reindex the workspace");
    await waitForText(toasts, /indexed 2 files/, "the reindex message");
  });
}

await browser.close();
process.exit(failed ? 1 : 0);
