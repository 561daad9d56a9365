"""Logging to stderr or a file, never stdout (stdout carries the protocol), with anything
key-shaped masked in every line (:mod:`lsp_server.keys`)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from lsp_server.keys import mask_keys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _MaskingFormatter(logging.Formatter):
    """Masks keys in the whole line: the message, its arguments and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_keys(super().format(record))


def setup_logging(level: str = "info", file: str | Path | None = None) -> None:
    """Route the package's logs (and pygls's) to ``file`` or stderr at ``level``."""
    handler: logging.Handler
    if file:
        path = Path(file).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_MaskingFormatter(FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    logging.getLogger("pygls").setLevel(max(root.level, logging.WARNING))
    logging.getLogger("httpx").setLevel(logging.WARNING)
