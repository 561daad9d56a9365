"""Recognise a file path the way models write it, and put it in one canonical form.

Models write ``src/a.rs``, ``./src/a.rs``, `` `src/a.rs` ``, ``**src/a.rs**``, ``### src/a.rs``,
``File: src/a.rs``, ``src/a.rs:`` or ``src\\a.rs``; all become ``src/a.rs``. A dotfile
(``.gitignore``) is a path too. A prose line that names exactly one backticked path
(``Change `src/a.rs` like this:``) yields that path.
"""

from __future__ import annotations

import re

_PREFIX = re.compile(r"^(?:(?:file\s*name|file\s*path|file|path)\s*:\s*)", re.IGNORECASE)
_BULLET = re.compile(r"^(?:[-+]\s+|\d+[.)]\s+)")
_TICKED = re.compile(r"`([^`\s]+)`")
_BAD_CHARS = re.compile(r"[\x00-\x1f<>|\"'`*?]")
_DOTFILE = re.compile(r"\.[A-Za-z_][\w-]*")  # .env, .gitignore, .editorconfig
_BARE_NAMES = frozenset(
    {"Makefile", "Dockerfile", "Justfile", "Containerfile", "Rakefile", "Gemfile", "Procfile",
     "Jenkinsfile", "Vagrantfile", "LICENSE", "README", "CHANGELOG", "BUILD", "WORKSPACE"}
)


def _strip_decorations(text: str) -> str:
    prev = None
    while prev != text:
        prev = text
        text = text.strip()
        text = text.lstrip("#").strip()
        text = _BULLET.sub("", text)
        if text.startswith("**") and text.endswith("**") and len(text) > 4:
            text = text[2:-2]
        text = _PREFIX.sub("", text)
        text = text.rstrip(":").strip()
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "`'\"":
            text = text[1:-1]
    return text


def _names_a_file(token: str) -> bool:
    return "/" in token or "." in token.strip(".") or _DOTFILE.fullmatch(token) is not None


def _canonical(token: str) -> str | None:
    token = token.replace("\\", "/")
    while "//" in token:
        token = token.replace("//", "/")
    while token.startswith("./"):
        token = token[2:]
    if not token or token in {".", "/"} or token.endswith("/") or _BAD_CHARS.search(token):
        return None
    if any(ch.isspace() for ch in token):
        return None
    return token if _names_a_file(token) or token in _BARE_NAMES else None


def normalize_path(line: str) -> str | None:
    """The canonical path written on ``line``, or None when the line is not a path."""
    text = _strip_decorations(line)
    if not text or text.startswith(("```", "~~~")):
        return None
    if any(ch.isspace() for ch in text):
        ticked = {m for m in _TICKED.findall(line) if _names_a_file(m)}
        if len(ticked) != 1:
            return None
        text = _strip_decorations(ticked.pop())
    return _canonical(text)
