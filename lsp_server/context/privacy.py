"""The privacy filter: what may leave the machine for a cloud model, and with which strings masked.

Two rules, applied by the context builder before anything reaches a cloud tier:

* Files matching ``privacy.exclude`` (gitignore-style globs: ``.env``, ``*.pem``, ``id_*``,
  ``secrets/**``, ...) never enter a cloud prompt at all.
* Secret-looking strings (private keys, cloud and API tokens, passwords in assignments, high
  entropy literals) are replaced by ``[REDACTED:<kind>]``. Detection is Yelp's maintained
  ``detect-secrets`` plugin set (its default plugins and their default limits), run line by line
  on the text about to be sent; a private key block is masked from its BEGIN line to its END line.

Redaction fails closed: a line that a detector could not check (the plugin raised) is withheld
whole, as ``[REDACTED:unchecked]``, and the failure is logged once per detector and error kind.
Only cloud-bound text is redacted, so local models still see the line.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pathspec

from lsp_server.config import PrivacySettings

log = logging.getLogger(__name__)

UNCHECKED = "[REDACTED:unchecked]"
_PLUGINS_LOCK = threading.Lock()
# (detector, error kind) pairs already logged: a broken detector fails on every line.
_FAILURES_LOCK = threading.Lock()
_FAILURES_LOGGED: set[tuple[str, str]] = set()
_PLUGINS: list[Any] | None = None
# Detection is per line and deterministic, and consecutive contexts share most lines:
# remember each line's verdict (keyed with the file type, which picks the plugin patterns).
_LINE_CACHE: dict[tuple[str, str], tuple[str, int]] = {}
_LINE_CACHE_MAX = 200_000
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_\-+/=.~]")
_KEY_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|PuTTY-User-Key-File-\d")
_KEY_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|Private-MAC:")


def _plugins() -> list[Any]:
    """detect-secrets' default plugins, built once (its settings are process-global)."""
    global _PLUGINS
    with _PLUGINS_LOCK:
        if _PLUGINS is None:
            from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
            from detect_secrets.settings import default_settings, get_plugins

            with default_settings():
                _PLUGINS = list(get_plugins())
            if not _PLUGINS:  # detect-secrets always ships plugins; guard a broken install
                classes: list[Any] = list(get_mapping_from_secret_type_to_class().values())
                _PLUGINS = [plugin_class() for plugin_class in classes]
        return _PLUGINS


def _detector_failed(plugin: Any, exc: Exception) -> None:
    """Log a detector failure once per detector and error kind (never the line: it may hold a
    secret)."""
    key = (type(plugin).__name__, type(exc).__name__)
    with _FAILURES_LOCK:
        if key in _FAILURES_LOGGED:
            return
        _FAILURES_LOGGED.add(key)
    log.warning("secret detector %s failed (%s); lines it cannot check are withheld from cloud "
                "models", *key)


def _expand(line: str, start: int, end: int) -> tuple[int, int]:
    """Widen a detected fragment (``ghp`` of ``ghp_…``) to the whole token it belongs to."""
    while start > 0 and _TOKEN_CHARS.match(line[start - 1]):
        start -= 1
    while end < len(line) and _TOKEN_CHARS.match(line[end]):
        end += 1
    return start, end


def _label(kind: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", kind).strip("_").lower() or "secret"


@dataclass
class PrivacyFilter:
    """Built from ``settings.privacy``: ``is_excluded(path)`` and ``redact(text)``."""

    exclude: tuple[str, ...] = ()
    redact_secrets: bool = True
    _spec: pathspec.GitIgnoreSpec = field(init=False, repr=False)
    _verdicts: dict[str, bool] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._spec = pathspec.GitIgnoreSpec.from_lines(self.exclude)

    @classmethod
    def from_settings(cls, privacy: PrivacySettings) -> PrivacyFilter:
        """The filter for these settings; built once and shared while they stay the same."""
        key = (tuple(privacy.exclude), privacy.redact_secrets)
        with _FILTERS_LOCK:
            hit = _FILTERS.get(key)
            if hit is None:
                if len(_FILTERS) > 16:
                    _FILTERS.clear()
                hit = _FILTERS[key] = cls(exclude=key[0], redact_secrets=key[1])
            return hit

    def is_excluded(self, path: str) -> bool:
        """True when ``path`` (relative, POSIX) matches an exclude glob, at any depth."""
        verdict = self._verdicts.get(path)
        if verdict is None:
            clean = path.replace("\\", "/").lstrip("/")
            verdict = bool(clean) and self._spec.match_file(clean)
            if len(self._verdicts) > 100_000:
                self._verdicts.clear()
            self._verdicts[path] = verdict
        return verdict

    def excluded(self, paths: Iterable[str]) -> list[str]:
        return [p for p in paths if self.is_excluded(p)]

    def redact(self, text: str, filename: str = "context.txt") -> tuple[str, int]:
        """``text`` with every detected secret masked, and how many were masked.

        ``filename`` lets detect-secrets pick its language-specific assignment patterns.
        """
        if not self.redact_secrets or not text:
            return text, 0
        plugins = _plugins()
        lines = text.split("\n")
        count = 0
        in_key = False
        for i, line in enumerate(lines):
            if in_key:
                lines[i] = "[REDACTED:private_key]" if line.strip() else line
                if _KEY_END.search(line):
                    in_key = False
                continue
            begin = _KEY_BEGIN.search(line)
            if begin:
                count += 1
                in_key = not _KEY_END.search(line, begin.end())
                lines[i] = line[: begin.start()] + "[REDACTED:private_key]"
                continue
            key = (filename.rsplit(".", 1)[-1], line)
            cached = _LINE_CACHE.get(key)
            if cached is not None:
                lines[i], n = cached
                count += n
                continue
            spans: list[tuple[int, int, str]] = []
            unchecked = False
            for plugin in plugins:
                try:
                    found = plugin.analyze_line(filename=filename, line=line, line_number=i + 1)
                except Exception as exc:  # fail closed: a line not checked is not sent
                    _detector_failed(plugin, exc)
                    unchecked = True
                    break
                for secret in found:
                    value = secret.secret_value or ""
                    if not value:
                        continue
                    pos = line.find(value)
                    while pos >= 0:
                        s, e = _expand(line, pos, pos + len(value))
                        spans.append((s, e, _label(secret.type)))
                        pos = line.find(value, pos + len(value))
            if unchecked:  # not cached: the next context checks the line again
                if line.strip():
                    lines[i] = UNCHECKED
                    count += 1
                continue
            masked, n = _mask(line, spans) if spans else (line, 0)
            if len(_LINE_CACHE) >= _LINE_CACHE_MAX:
                _LINE_CACHE.clear()
            _LINE_CACHE[key] = (masked, n)
            lines[i] = masked
            count += n
        return "\n".join(lines), count


_FILTERS_LOCK = threading.Lock()
_FILTERS: dict[tuple[tuple[str, ...], bool], PrivacyFilter] = {}


def _mask(line: str, spans: list[tuple[int, int, str]]) -> tuple[str, int]:
    """Replace the union of ``spans`` (merged where they overlap) by redaction markers."""
    spans.sort()
    merged: list[list[Any]] = []
    for s, e, kind in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e, kind])
    out: list[str] = []
    last = 0
    for s, e, kind in merged:
        out.append(line[last:s])
        out.append(f"[REDACTED:{kind}]")
        last = e
    out.append(line[last:])
    return "".join(out), len(merged)
