"""Logging to stderr or a file, never stdout (stdout carries the protocol)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: str = "info", file: str | Path | None = None) -> None:
    """Route the package's logs (and pygls's) to ``file`` or stderr at ``level``."""
    handler: logging.Handler
    if file:
        path = Path(file).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    logging.getLogger("pygls").setLevel(max(root.level, logging.WARNING))
    logging.getLogger("httpx").setLevel(logging.WARNING)
