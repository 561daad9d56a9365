"""Arguments and helpers shared by several commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from lsp_server.config import Settings, load_settings
from lsp_server.errors import ConfigError


def add_config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, metavar="PATH",
        help="settings file (default: agentic-optimizer.toml in the project root)",
    )


def add_project_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project", type=Path, default=Path("."), metavar="DIR",
        help="project root (default: the current directory)",
    )


def project_root(args: argparse.Namespace) -> Path:
    root = Path(getattr(args, "project", None) or ".").expanduser().resolve()
    if not root.is_dir():
        raise ConfigError(f"--project {root}: not a directory")
    return root


def settings_for(args: argparse.Namespace, root: Path | None = None) -> Settings:
    return load_settings(root, config_path=getattr(args, "config", None))
