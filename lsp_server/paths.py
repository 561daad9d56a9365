"""Where state lives: ``$AGENTIC_OPTIMIZER_HOME``, else the platform's user data directory."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from lsp_server.config import ENV_HOME, Settings


def state_dir(settings: Settings | None = None) -> Path:
    """The state directory (created if needed): the setting, the env var, or the platform default."""
    if settings is not None and settings.state_dir:
        path = Path(settings.state_dir).expanduser()
    elif os.environ.get(ENV_HOME):
        path = Path(os.environ[ENV_HOME]).expanduser()
    else:
        path = Path(platformdirs.user_data_dir("agentic-optimizer", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path
