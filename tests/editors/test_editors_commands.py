"""The editor clients call the server's commands by the names the server registers.

The VS Code extension, the Neovim plugin and the setup guide all name ``agentic.*`` commands as
strings; a rename on either side would only show up in an editor. Here the running server's
registered commands are the reference.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lsp_server.server import create_server

REPO = Path(__file__).resolve().parents[2]
CLIENT_FILES = (
    REPO / "vscode-extension" / "src" / "extension.ts",
    REPO / "editors" / "neovim" / "agentic-optimizer.lua",
    REPO / "docs" / "editors.md",
)
COMMAND = re.compile(r"""["'`](agentic\.[A-Za-z]+)["'`]""")


def registered() -> set[str]:
    return set(create_server().protocol.fm.commands)


@pytest.mark.parametrize("path", CLIENT_FILES, ids=lambda p: p.name)
def test_client_commands_exist_on_the_server(path: Path) -> None:
    used = set(COMMAND.findall(path.read_text(encoding="utf-8")))
    assert used, f"{path.name} names no agentic.* command"
    assert used <= registered(), f"{path.name} calls unknown commands: {sorted(used - registered())}"


def test_spend_notification_name_matches() -> None:
    from lsp_server import wire

    name = wire.SPEND_NOTIFICATION
    status_ts = (REPO / "vscode-extension" / "src" / "status.ts").read_text(encoding="utf-8")
    lua = (REPO / "editors" / "neovim" / "agentic-optimizer.lua").read_text(encoding="utf-8")
    assert f'"{name}"' in status_ts
    assert f"['{name}']" in lua
