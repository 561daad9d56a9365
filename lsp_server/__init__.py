"""Agentic Optimizer: a cost-optimized AI coding assistant served over the Language Server Protocol."""

from __future__ import annotations

__version__ = "0.1.0"

from lsp_server.config import ModelSettings, Settings, load_settings, parse_settings
from lsp_server.errors import AgenticError, ConfigError

__all__ = [
    "AgenticError",
    "ConfigError",
    "ModelSettings",
    "Settings",
    "__version__",
    "load_settings",
    "parse_settings",
]
