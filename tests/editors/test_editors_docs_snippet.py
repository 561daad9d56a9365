"""The Neovim 0.11+ configuration in docs/editors.md works when pasted as is.

The block under "Without the plugin: Neovim 0.11+" becomes the init file of a headless Neovim;
opening a Rust file of the example crate must start and attach the server, and the documented
:AgenticMetrics command must print today's metrics.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests_editors_support import nvim_binary  # type: ignore[import-not-found]

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "editors.md"
HEADING = "### Without the plugin: Neovim 0.11+"

CHECK = r"""
local messages = {}
local notify = vim.notify
vim.notify = function(msg, ...) table.insert(messages, tostring(msg)); return notify(msg, ...) end
vim.cmd('edit ' .. vim.fn.fnameescape(vim.env.AO_FILE))
local attached = vim.wait(30000, function()
  local c = vim.lsp.get_clients({ name = 'agentic_optimizer', bufnr = 0 })[1]
  return c ~= nil and c.initialized == true
end, 50)
if attached then
  vim.cmd('AgenticMetrics')
  vim.wait(20000, function() return #messages > 0 end, 50)
end
local fh = io.open(vim.env.AO_REPORT, 'w')
fh:write(vim.json.encode({ attached = attached, messages = messages }))
fh:close()
for _, c in ipairs(vim.lsp.get_clients()) do vim.lsp.stop_client(c.id) end
vim.wait(3000, function() return #vim.lsp.get_clients() == 0 end, 50)
vim.cmd('qall!')
"""


def documented_config() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text.split(HEADING, 1)[1]
    match = re.search(r"```lua\n(.*?)```", section, re.S)
    assert match, f"no lua block under {HEADING!r}"
    return match.group(1)


@pytest.mark.editor
def test_documented_neovim_config_starts_server_and_runs_metrics(
    tmp_path: Path, rust_example: Path
) -> None:
    nvim = nvim_binary()
    version = subprocess.run([nvim, "--version"], capture_output=True, text=True, check=True).stdout
    if not re.search(r"NVIM v0\.(1[1-9]|[2-9]\d)", version):
        pytest.skip("the documented block is for Neovim 0.11+")
    crate = tmp_path / "crate"
    shutil.copytree(rust_example, crate)
    init = tmp_path / "init.lua"
    init.write_text(documented_config(), encoding="utf-8")
    check = tmp_path / "check.lua"
    check.write_text(CHECK, encoding="utf-8")
    report = tmp_path / "report.json"
    env = dict(os.environ)
    # The documented cmd is `agentic-optimizer serve`: the one installed next to this Python.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update({"AO_FILE": str(crate / "src" / "lib.rs"), "AO_REPORT": str(report)})
    proc = subprocess.run(
        [nvim, "--headless", "--clean", "-u", str(init), "-c", f"luafile {check}"],
        cwd=crate, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert report.exists(), f"nvim exit {proc.returncode}: {proc.stderr[-2000:]}"
    data = json.loads(report.read_text())
    assert data["attached"] is True, data
    assert any("Daily Metrics" in m for m in data["messages"]), data
