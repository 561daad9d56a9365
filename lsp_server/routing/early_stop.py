"""Stopping a streamed answer as soon as it cannot become acceptable.

A small local model that misreads the task rarely recovers: it writes an essay where an edit
block was asked for, loops on one line, drifts into another language or a new question of its
own, or writes code in a language the project does not use. Waiting for its last token costs the
user a minute for an answer the judge will reject anyway, so the router feeds every streamed
delta to a :class:`Monitor` and, at the first reason it gives, closes the stream and escalates.

Each rule is conservative: it fires only on what an acceptable answer of the expected kind never
contains (the edit header of the requested format missing after ``header_within_tokens``; the
same text repeated back to back; the answer's script differing from the question's; an
end-of-turn or new-question marker; a fenced block for another programming language). The module
is pure: text in, a reason out.

While the model may call tools (:attr:`Expect.tools`), a tool call is a valid start of an
answer: a native tool call (a delta that starts one) or, in the text protocol, an ``@tool``
line. From there on the reply is a tool turn, which the tool loop bounds, and the monitor lets
it run; the text before it is watched as any answer's.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from lsp_server.context.tokens import count_tokens
from lsp_server.providers.tools import TOOL_PREFIX

Mode = Literal["edit", "answer"]

# Headers of the two edit formats, as tolerant as the edits parser (lsp_server.edits.parser).
_SEARCH_HEADER = re.compile(r"^\s*<{5,9}\s*SEARCH\b", re.IGNORECASE | re.MULTILINE)
_DEFINITION_HEADER = re.compile(
    r"^\s*(?:[#>*\-]+\s*)?(?:\*\*)?REPLACE\s+(?:(?:DEFINITION|FUNCTION|METHOD|CLASS|STRUCT|ENUM|"
    r"TRAIT|IMPL)\s+)?`?[A-Za-z_][\w:.<>,]*`?(?:\s+IN\s+\S+?)?\s*(?:\*\*)?\s*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE)
_HEADERS = {"search_replace": _SEARCH_HEADER, "whole_definition": _DEFINITION_HEADER}

# A model starting the next turn itself, or inventing a new task: never part of an answer.
_NEW_TURN = re.compile(
    r"(?:^|\n)\s*(?:<start_of_turn>|<end_of_turn>|<\|im_start\|>|<\|user\|>|\[INST\]|"
    r"(?:#+\s*)?(?:User|Human|Question|Instruction|New question)\s*:)",
    re.IGNORECASE)

_FENCE = re.compile(r"(?:^|\n)\s*(?:`{3,}|~{3,})[ \t]*([A-Za-z][\w+#.\-]*)")

# Fence tags naming programming languages, by canonical name; tags not listed here (text,
# diff, console, toml, json, ...) are neutral and never stop an answer.
_LANGUAGES: dict[str, str] = {}
for _name, _aliases in {
    "rust": ("rust", "rs"), "python": ("python", "py", "python3"),
    "javascript": ("javascript", "js", "jsx", "node"), "typescript": ("typescript", "ts", "tsx"),
    "java": ("java",), "c": ("c", "h"), "cpp": ("cpp", "c++", "cxx", "hpp", "cc"),
    "csharp": ("csharp", "cs", "c#"), "go": ("go", "golang"), "ruby": ("ruby", "rb"),
    "php": ("php",), "swift": ("swift",), "kotlin": ("kotlin", "kt"), "scala": ("scala",),
    "haskell": ("haskell", "hs"), "lua": ("lua",), "perl": ("perl", "pl"), "r": ("r",),
    "dart": ("dart",), "elixir": ("elixir", "ex"), "julia": ("julia", "jl"),
    "ocaml": ("ocaml", "ml"), "zig": ("zig",),
}.items():
    for _alias in _aliases:
        _LANGUAGES[_alias] = _name

# Scripts told apart for drift: a question in Latin letters answered in Cyrillic or CJK is off.
_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK", "CJK", "HIRAGANA", "KATAKANA", "HANGUL", "ARABIC",
            "HEBREW", "DEVANAGARI", "THAI")


def language_of_fence(tag: str) -> str | None:
    """The canonical programming language a code fence's tag names, or None (neutral tag)."""
    return _LANGUAGES.get(tag.strip().lower())


def script_of(text: str) -> str | None:
    """The script most letters of ``text`` are written in, or None for too few letters."""
    counts: dict[str, int] = {}
    total = 0
    for ch in text:
        if not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        script = next((s for s in _SCRIPTS if name.startswith(s) or f" {s} " in f" {name} "),
                      "OTHER")
        counts[script] = counts.get(script, 0) + 1
        total += 1
    if total < 12:
        return None
    script, n = max(counts.items(), key=lambda kv: kv[1])
    return script if n >= total * 0.6 else None


@dataclass(frozen=True, slots=True)
class Expect:
    """What an acceptable answer looks like, as far as its first tokens can tell.

    ``edit_format`` is the format an edit answer must use (None: prose is allowed too);
    ``language`` the target's programming language (canonical name, e.g. ``rust``);
    ``question`` the user's instruction, whose script the answer should share.
    """

    mode: Mode
    edit_format: str | None = None
    language: str | None = None
    question: str = ""
    header_within_tokens: int = 64
    tools: Literal["native", "text"] | None = None  # how the model may call tools now
    repeats: int = 3  # back-to-back copies of one stretch of text that make a loop
    min_loop_chars: int = 60  # ... covering at least this many characters


def _loop(text: str, repeats: int, min_chars: int) -> int | None:
    """The period of a stretch repeated ``repeats`` times back to back at the end of ``text``
    (covering at least ``min_chars``), or None."""
    tail = text.rstrip()
    for period in range(1, min(400, len(tail) // repeats) + 1):
        span = period * repeats
        if span < min_chars:
            continue
        unit = tail[-period:]
        if not unit.strip():
            continue
        if tail[-span:] == unit * repeats:
            return period
    return None


def _repeated_lines(text: str, repeats: int) -> str | None:
    """A non-trivial line written ``repeats + 1`` times in a row (the last line may be partial,
    so only complete lines count)."""
    lines = text.split("\n")[:-1]
    run, last = 0, None
    for line in lines:
        key = line.strip()
        if key and key == last and len(key) >= 8:
            run += 1
            if run >= repeats:
                return key
        else:
            run = 0
        last = key
    return None


class Monitor:
    """Feeds on a streamed answer and says, at the first sign, why it cannot be accepted."""

    def __init__(self, expect: Expect) -> None:
        self.expect = expect
        self.text = ""
        self.tokens = 0
        self.reason: str | None = None
        self._question_script = script_of(expect.question)
        self._checked_lines = 0
        self.tool_turn = False  # the reply turned out to be a tool turn: nothing to stop

    def feed(self, delta: str, tool_call: str | None = None) -> str | None:
        """Take the next piece of the answer (``tool_call``: a native tool call starts here);
        the reason to stop now, or None to go on."""
        if self.reason is not None or self.tool_turn:
            return self.reason
        if tool_call is not None and self.expect.tools is not None:
            self.tool_turn = True
            return None
        if not delta:
            return None
        self.text += delta
        self.tokens += max(1, count_tokens(delta))
        if self.expect.tools == "text" and _TOOL_LINE.search(self.text):
            self.tool_turn = True
            return None
        self.reason = self._check()
        return self.reason

    def _check(self) -> str | None:
        e = self.expect
        text = self.text
        if (e.mode == "edit" and e.edit_format in _HEADERS
                and self.tokens >= e.header_within_tokens
                and _HEADERS[e.edit_format].search(text) is None):
            what = "<<<<<<< SEARCH" if e.edit_format == "search_replace" else "REPLACE <name> IN <path>"
            return (f"no edit block ({what}) in the first {self.tokens} tokens of an "
                    "answer that must be edits")
        turn = _NEW_TURN.search(text)
        if turn is not None:
            return f"the answer drifted into a new turn or question ({turn.group(0).strip()!r})"
        period = _loop(text, e.repeats, e.min_loop_chars)
        if period is not None:
            return f"the answer repeats itself (a {period}-character stretch {e.repeats} times)"
        if text.count("\n") > self._checked_lines:
            self._checked_lines = text.count("\n")
            line = _repeated_lines(text, e.repeats)
            if line is not None:
                return f"the answer repeats one line ({line[:40]!r}) {e.repeats + 1} times"
        reason = self._foreign_fence()
        if reason is not None:
            return reason
        if self._question_script is not None and self.tokens >= 24 and e.mode == "answer":
            prose = _FENCED_BLOCK.sub(" ", text)
            script = script_of(prose)
            if script is not None and script != self._question_script:
                return (f"the answer drifted into another language ({script.lower()} script; "
                        f"the question is {self._question_script.lower()})")
        return None

    def _foreign_fence(self) -> str | None:
        expected = self.expect.language
        if expected is None:
            return None
        for match in _FENCE.finditer(self.text):
            tag = match.group(1)
            lang = language_of_fence(tag)
            # A tag is complete only once the line goes on; "rs" may still become "rst".
            if match.end() == len(self.text):
                continue
            if lang is not None and lang != expected:
                return f"a code block for another language ({tag}; the target is {expected})"
        return None


_TOOL_LINE = re.compile(rf"(?m)^[ \t]*{re.escape(TOOL_PREFIX)}(?:\s|$)")
_FENCED_BLOCK = re.compile(r"(?:`{3,}|~{3,})[\s\S]*?(?:`{3,}|~{3,}|\Z)")


def expected_language(name: str | None) -> str | None:
    """The canonical name of a target's language (the index's language name), if known."""
    if not name:
        return None
    return _LANGUAGES.get(name.lower(), name.lower())
