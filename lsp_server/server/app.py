"""The pygls server: all server state lives on :class:`AgenticServer`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pygls.lsp.server import LanguageServer

from lsp_server import __version__
from lsp_server.config import Settings, load_settings
from lsp_server.context.documents import Documents
from lsp_server.errors import ConfigError

log = logging.getLogger(__name__)


class AgenticServer(LanguageServer):
    """Holds the settings, the documents overlay and the workspace root for the handlers."""

    def __init__(self, *, config_path: Path | None = None) -> None:
        super().__init__("agentic-optimizer", __version__)
        self.config_path = config_path
        self.documents = Documents()
        self.root: Path | None = None
        self.settings = Settings()
        self.init_options: dict[str, Any] = {}
        self.client_options: dict[str, Any] = {}
        self.pending_message: str | None = None

    def reload_settings(self) -> str | None:
        """Re-read settings from every layer. On a bad value keep the last good settings and
        return the message for the user; on success return None."""
        try:
            self.settings = load_settings(
                self.root,
                config_path=self.config_path,
                overrides=_merge(self.init_options, self.client_options),
            )
        except ConfigError as exc:
            log.warning("settings rejected, keeping the previous ones: %s", exc)
            return f"Agentic Optimizer: {exc} (keeping the previous settings)"
        return None


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def create_server(*, config_path: Path | None = None) -> AgenticServer:
    """A server with every feature registered."""
    from lsp_server.server import features_sync

    server = AgenticServer(config_path=config_path)
    features_sync.register(server)
    return server
