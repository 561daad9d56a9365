"""Who and where a ledger row comes from, and which ledger the settings point at.

Each row carries a user (``ledger.user``, default the OS user) and a machine id (a random id
made once and kept in the state directory, so it is stable across restarts and never derived
from anything identifying). ``ledger.url`` (or the environment variable named by
``ledger.url_env``) selects a shared PostgreSQL ledger; a URL is shown only with its password
masked (:func:`redact`).
"""

from __future__ import annotations

import getpass
import os
import re
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from lsp_server.config import Settings
from lsp_server.errors import ConfigError
from lsp_server.paths import state_dir

MACHINE_ID_FILENAME = "machine-id"
_PASSWORD_PARAM = re.compile(r"(password\s*=\s*)('[^']*'|[^\s&]+)", re.IGNORECASE)


def user_name(settings: Settings) -> str:
    """``ledger.user``, else the OS user."""
    if settings.ledger.user:
        return settings.ledger.user
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no USER variable (some containers)
        return f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def machine_id(settings: Settings | None = None) -> str:
    """This machine's id: made once, then read from the state directory."""
    path = state_dir(settings) / MACHINE_ID_FILENAME
    try:
        found = path.read_text(encoding="ascii").strip()
        if re.fullmatch(r"[0-9a-f]{32}", found):
            return found
    except (OSError, UnicodeDecodeError):
        pass
    made = uuid.uuid4().hex
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{made[:8]}.tmp")
        tmp.write_text(made + "\n", encoding="ascii")
        os.replace(tmp, path)
    except OSError:
        return made  # an unwritable state directory: this run's id only
    return _reread(path, made)


def _reread(path: Path, made: str) -> str:
    # Two processes making the id at once: both keep the one that stayed on disk.
    try:
        return path.read_text(encoding="ascii").strip() or made
    except OSError:
        return made


def ledger_url(settings: Settings) -> str | None:
    """The shared ledger's URL from ``ledger.url`` or ``ledger.url_env``; None: SQLite."""
    ledger = settings.ledger
    if ledger.url_env:
        value = os.environ.get(ledger.url_env, "").strip()
        if not value:
            raise ConfigError(f"ledger.url_env = {ledger.url_env!r}: that environment variable "
                              "is not set (it should hold the shared ledger's postgresql:// URL)")
        url = value
    elif ledger.url:
        url = ledger.url.strip()
    else:
        return None
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(f"ledger.url = {redact(url)!r}: expected a postgresql:// URL")
    return url


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(a URL that cannot be parsed)"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{host}"
    query = _PASSWORD_PARAM.sub(r"\1***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
