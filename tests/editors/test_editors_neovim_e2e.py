"""A real editor end to end: headless Neovim with editors/neovim/agentic-optimizer.lua drives
``agentic-optimizer serve`` on a copy of the example crate, with an OpenAI-compatible vendor
stand-in on 127.0.0.1 as the only model.

Checked: the code actions are listed without computing an edit; applying one through Neovim's
own ``vim.lsp.buf.code_action`` resolves it, applies the WorkspaceEdit, the buffer is written and
the file on disk changed; ``:AgenticAsk`` on a line range makes the server send
``workspace/applyEdit``, which Neovim applies; ``:AgenticMetrics`` answers and the
``agentic/spend`` notification reached the plugin.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_type_hints

import pytest
from standins import RecordedRequest, Reply, StandinServer
from standins.wire import request_text
from tests_editors_support import (  # type: ignore[import-not-found]
    nvim_binary,
    nvim_version,
    other_nvims,
)

from lsp_server import wire

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "editors" / "neovim" / "agentic-optimizer.lua"
DRIVER = Path(__file__).resolve().parent / "nvim_e2e.lua"
KEY_ENV = "STANDIN_OPENAI_KEY"
KEY_VARS = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GROQ_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")

ACTION_TITLE = "Simplify selection"
ACTION_REPLY = """src/units.rs
<<<<<<< SEARCH
    pub fn feet(value: f64) -> Self {
        Length { meters: value * 0.3048 }
    }
=======
    pub fn feet(value: f64) -> Self {
        Self::meters(value * 0.3048)
    }
>>>>>>> REPLACE
"""
EXPLAIN_MARKER = "Explain what this code does"
EXPLANATION = "It returns the shape with the largest area, or None when the slice is empty."
ASK_INSTRUCTION = "add the areas with fold instead of sum"
ASK_REPLY = """src/lib.rs
<<<<<<< SEARCH
    shapes.iter().map(|s| s.area()).sum()
=======
    shapes.iter().fold(0.0, |acc, s| acc + s.area())
>>>>>>> REPLACE
"""


def server_command() -> list[str]:
    script = Path(sys.executable).parent / "agentic-optimizer"
    if script.is_file():
        return [str(script), "serve", "--log-level", "debug"]
    return [sys.executable, "-m", "lsp_server", "serve", "--log-level", "debug"]


def answer(req: RecordedRequest) -> Reply:
    """Reply by what was asked, so the order of model calls does not matter."""
    text = request_text(req)
    if ASK_INSTRUCTION in text:
        return Reply(ASK_REPLY, input=900, output=60)
    if EXPLAIN_MARKER in text:
        return Reply(EXPLANATION, input=700, output=20)
    if "pub fn feet" in text:
        return Reply(ACTION_REPLY, input=900, output=70)
    return Reply("I cannot help with that.", input=100, output=8)


@pytest.fixture(scope="module")
def rust_example_dir() -> Path:
    return REPO / "examples" / "rust-crate"


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


@dataclass
class Run:
    """One headless Neovim session and what it left behind."""

    variant: str
    crate: Path
    report: dict[str, Any]
    returncode: int
    generations: list[RecordedRequest]
    model: dict[str, Any]
    context: str

    @property
    def steps(self) -> dict[str, Any]:
        steps: dict[str, Any] = self.report.get("steps", {})
        return steps


# The Neovim of the dev extra always, once through vim.lsp.enable (0.11+) and once through the
# vim.lsp.start path of 0.8-0.10; any other installed Neovim (e.g. Debian's 0.7) as well.
NVIMS = ["dev-extra", "dev-extra-lsp-start", *other_nvims()]


@pytest.fixture(scope="module", params=NVIMS)
def nvim_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, rust_example_dir: Path
) -> Run:
    """Run the driver once per Neovim; the tests below check different parts of what it did."""
    bundled = request.param.startswith("dev-extra")
    binary = nvim_binary() if bundled else str(request.param)
    if not bundled and nvim_version(binary) < (0, 7):
        pytest.fail(f"{binary}: the plugin supports Neovim 0.7 and later")
    base = tmp_path_factory.mktemp("nvim")
    crate = base / "crate"
    shutil.copytree(rust_example_dir, crate)
    units, lib = crate / "src" / "units.rs", crate / "src" / "lib.rs"
    report_path = base / "report.json"
    log_path = base / "server.log"
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS and not k.startswith("AGENTIC_OPTIMIZER")}

    with StandinServer("openai", fallback=answer) as standin:
        model = standin.model_settings(name="standin", tier="budget", max_retries=0)
        settings = {"models": [model], "hover": {"explain": False}}
        feet = line_of(units, "pub fn feet")
        total = line_of(lib, "pub fn total_area")
        largest = line_of(lib, "pub fn largest")
        env.update({
            "AGENTIC_OPTIMIZER_HOME": str(base / "state"),
            KEY_ENV: "test-key",
            "AO_PLUGIN": str(PLUGIN),
            "AO_CMD": json.dumps([*server_command(), "--log-file", str(log_path)]),
            "AO_SETTINGS": json.dumps(settings),
            "AO_FILE": str(units),
            "AO_ACTION_LINE1": str(feet),
            "AO_ACTION_LINE2": str(feet + 2),
            "AO_ACTION_TITLE": ACTION_TITLE,
            "AO_ASK_FILE": str(lib),
            "AO_ASK_LINE1": str(total),
            "AO_ASK_LINE2": str(total + 2),
            "AO_ASK_INSTRUCTION": ASK_INSTRUCTION,
            "AO_EXPLAIN_LINE1": str(largest),
            "AO_EXPLAIN_LINE2": str(largest + 5),
            "AO_REPORT": str(report_path),
            "AO_WITHOUT_ENABLE": "1" if request.param == "dev-extra-lsp-start" else "0",
        })
        proc = subprocess.run(
            [binary, "--headless", "--clean", "-c", f"luafile {DRIVER}"],
            cwd=crate, env=env, capture_output=True, text=True, timeout=240,
            stdin=subprocess.DEVNULL,
        )
        generations = standin.generations

    report: dict[str, Any] = json.loads(report_path.read_text()) if report_path.exists() else {}
    context = (
        f"nvim exit {proc.returncode}\nreport: {json.dumps(report, indent=1)[:4000]}\n"
        f"stderr: {proc.stderr[-2000:]}\nserver log tail: "
        f"{log_path.read_text()[-3000:] if log_path.exists() else '(none)'}"
    )
    return Run(str(request.param), crate, report, proc.returncode, generations, model, context)


@pytest.mark.editor
def test_neovim_attaches_lists_actions_and_shows_metrics(nvim_run: Run) -> None:
    """Start, attach, list code actions without computing an edit, metrics, spend notification."""
    run, steps, context = nvim_run, nvim_run.steps, nvim_run.context
    assert run.report.get("error") is None, context
    assert run.returncode == 0, context
    assert steps["filetype"] == "rust", context
    assert steps["attached"] is True, context
    major, minor = (int(x) for x in steps["version"].split(".")[:2])
    expected_mode = (
        "start" if run.variant == "dev-extra-lsp-start"
        else "enable" if (major, minor) >= (0, 11)
        else "start" if (major, minor) >= (0, 8)
        else "start_client"
    )
    assert steps["mode"] == expected_mode, context

    simplify = [a for a in steps["listed"] if ACTION_TITLE in a["title"]]
    assert len(simplify) == 1, context
    assert simplify[0]["has_edit"] is False, "listing must not compute the edit"
    assert "budget" in simplify[0]["title"], "the title names the starting tier"

    metrics = steps["metrics"]
    assert isinstance(metrics, dict) and "Daily Metrics" in str(metrics.get("text")), context
    spend = steps["spend"]
    assert isinstance(spend, dict), "the agentic/spend notification never reached the plugin"
    # Every field of the notification (a null request_id arrives in Lua as a missing key).
    assert {"spent_usd", "premium_usd", "saved_usd", "requests"} <= set(spend) <= set(
        get_type_hints(wire.SpendParams)), context
    assert spend["requests"] >= 3, "the code action, the ask and the explanation were recorded"
    assert steps["statusline"].startswith("AI $"), context
    # :AgenticExplain: the model's answer comes back and is shown in a scratch buffer.
    explained = steps["explain_result"]
    assert isinstance(explained, dict), context
    assert explained.get("answer", "").strip() == EXPLANATION, context
    assert explained.get("tier") == "budget", context
    assert isinstance(steps["explain_shown"], str) and EXPLANATION in steps["explain_shown"], context

    # Applying the action (resolve), :AgenticAsk and :AgenticExplain each asked the model once.
    assert len(run.generations) == 3, context
    assert all(g.key_presented and g.key_ok for g in run.generations)
    asked = [request_text(g) for g in run.generations]
    assert any("pub fn feet" in t for t in asked), "the resolved action sent the selected code"
    assert any(ASK_INSTRUCTION in t for t in asked), "the ask sent the user's instruction"


@pytest.mark.editor
def test_neovim_code_action_and_ask_change_files(nvim_run: Run) -> None:
    """Resolve + apply a code action and write it; :AgenticAsk applies the server's applyEdit."""
    run, steps, context = nvim_run, nvim_run.steps, nvim_run.context
    units, lib = run.crate / "src" / "units.rs", run.crate / "src" / "lib.rs"

    # Resolved, applied to the buffer, written: the file on disk has the change.
    assert steps["action_applied"] is True, context
    assert steps["action_written"] is True, context
    assert "Self::meters(value * 0.3048)" in units.read_text()
    assert "Length { meters: value * 0.3048 }" not in units.read_text()

    # :AgenticAsk: the server's workspace/applyEdit changed lib.rs, and :wall wrote it.
    result = steps["ask_result"]
    assert isinstance(result, dict), context
    assert result.get("applied") is True, context
    assert result.get("tier") == "budget" and result.get("model") == run.model["model"], context
    assert steps["ask_applied"] is True and steps["ask_written"] is True, context
    assert "shapes.iter().fold(0.0, |acc, s| acc + s.area())" in lib.read_text()
    assert steps["last_request_id"] == result["request_id"]
    # The resolved code action returned no result to the plugin; the agentic/spend notification
    # named its request, so :AgenticFeedback rates it.
    assert isinstance(steps["action_request_id"], str), context
    assert steps["action_request_id"] != result["request_id"], context

