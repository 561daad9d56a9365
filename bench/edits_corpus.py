"""A corpus of real edits and of the ways models break them, for the verifier's tests and benchmark.

Each hunk of a real fix (``fix_patch`` in ``bench-data/{rust-dev,python-dev}.jsonl``) touching a
``.rs`` or ``.py`` file becomes a search/replace answer: SEARCH is the hunk's pre-image (context
and removed lines), REPLACE its post-image, and the requested lines are the hunk's old range.
Broken variants mimic what models do wrong:

* ``truncated``   the answer stops inside the REPLACE section (output limit reached)
* ``elided``      part of the new code is replaced by a "... existing code ..." comment
* ``wrong_anchor``  a SEARCH line is misremembered (an identifier changed)
* ``unbalanced``  a closing bracket is dropped (or an opening one added) in the new code
* ``ambiguous``   SEARCH cut down to a line that occurs more than once in the file
* ``duplicated``  the same block is given twice
* ``outside``     a second block changes a line outside the requested lines

No file here needs a mirror: a hunk's pre-image is text enough to build the answers. The
benchmark (``bench/verifier.py``) runs them against the real files at ``base_commit``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lsp_server.edits.checks import allowed_lines
from lsp_server.edits.parser import format_edits
from lsp_server.edits.protocol import SearchReplace

DATA_FILES = ("rust-dev.jsonl", "python-dev.jsonl")
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]{2,}\b")
VARIANT_KINDS = ("truncated", "elided", "wrong_anchor", "unbalanced", "ambiguous", "duplicated", "outside")


@dataclass(frozen=True)
class CorpusEdit:
    instance_id: str
    repo: str
    base_commit: str
    path: str
    old_start: int
    old_count: int
    search: str  # the pre-image: context and removed lines
    replace: str  # the post-image: context and added lines

    @property
    def target_lines(self) -> tuple[int, int]:
        return (self.old_start, max(self.old_start, self.old_start + self.old_count - 1))

    @property
    def comment(self) -> str:
        return "#" if self.path.endswith(".py") else "//"

    def block(self) -> SearchReplace:
        return SearchReplace(self.path, self.search, self.replace)


@dataclass(frozen=True)
class Variant:
    kind: str
    raw: str
    target_lines: tuple[int, int]


def shared_data_dir(repo_root: Path) -> Path:
    """``../shared/bench-data`` beside the repository (where CI and the workspace keep it)."""
    return repo_root.resolve().parent / "shared" / "bench-data"


def hunks(instance: dict[str, str]) -> Iterator[CorpusEdit]:
    """Every hunk of the instance's fix that touches a Rust or Python source file."""
    path: str | None = None
    lines = instance["fix_patch"].split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("+++ "):
            name = line[4:].strip()
            path = name[2:] if name.startswith("b/") else None
        elif line.startswith("@@") and path and path.endswith((".rs", ".py")):
            m = _HUNK.match(line)
            if m is None:
                i += 1
                continue
            old_start, old_count = int(m.group(1)), int(m.group(2) or "1")
            new_count = int(m.group(4) or "1")
            old: list[str] = []
            new: list[str] = []
            j = i + 1
            while j < len(lines) and (len(old) < old_count or len(new) < new_count):
                body = lines[j]
                if body.startswith("\\"):
                    j += 1
                    continue
                tag, text = (body[:1], body[1:]) if body else (" ", "")
                if tag in " -":
                    old.append(text)
                if tag in " +":
                    new.append(text)
                j += 1
            if old and any(s.strip() for s in old):
                yield CorpusEdit(
                    instance["instance_id"], instance["repo"], instance["base_commit"], path,
                    old_start, old_count, "".join(s + "\n" for s in old), "".join(s + "\n" for s in new),
                )
            i = j
            continue
        i += 1


def load_corpus(data_dir: Path) -> list[CorpusEdit]:
    """All hunks of all rows, Rust first."""
    out: list[CorpusEdit] = []
    for name in DATA_FILES:
        with (data_dir / name).open(encoding="utf-8") as fh:
            for row in fh:
                if row.strip():
                    out.extend(hunks(json.loads(row)))
    return out


def good_answer(edit: CorpusEdit, index: int = 0) -> str:
    """The real fix as a model would write it; every other one fenced with prose around it."""
    block = format_edits([edit.block()])
    if index % 2:
        lang = "python" if edit.path.endswith(".py") else "rust"
        return f"Here is the change.\n\n```{lang}\n{block}```\n\nThis fixes the issue.\n"
    return block


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _added(edit: CorpusEdit) -> list[int]:
    """Indices of REPLACE lines that are new (not in SEARCH)."""
    old = set(edit.search.splitlines())
    return [k for k, line in enumerate(edit.replace.splitlines()) if line not in old and line.strip()]


def _truncated(edit: CorpusEdit) -> str:
    text = format_edits([edit.block()])
    cut = text.index("=======\n") + len("=======\n")
    replace = edit.replace.splitlines(keepends=True)
    return text[:cut] + "".join(replace[: max(1, len(replace) * 2 // 3)])


def _elided(edit: CorpusEdit) -> str | None:
    lines = edit.replace.splitlines()
    added = _added(edit)
    if not lines:
        return None
    keep = added[0] if added else 0
    # Keep the first changed line, then leave out everything up to the last two lines.
    tail = max(keep + 1, len(lines) - 2)
    indent = _indent(lines[keep]) if lines[keep].strip() else ""
    note = f"{indent}{edit.comment} ... existing code unchanged ..."
    new = [*lines[: keep + 1], note, *lines[tail:]]
    return format_edits([SearchReplace(edit.path, edit.search, "".join(s + "\n" for s in new))])


def _wrong_anchor(edit: CorpusEdit, file_text: str) -> str | None:
    lines = edit.search.splitlines()
    order = sorted(range(len(lines)), key=lambda k: -len(lines[k].strip()))
    for k in order:
        idents = _IDENT.findall(lines[k])
        if not idents:
            continue
        word = max(idents, key=len)
        wrong = lines[k].replace(word, word + "_value", 1)
        if wrong in file_text:
            continue
        search = [*lines[:k], wrong, *lines[k + 1 :]]
        return format_edits([SearchReplace(edit.path, "".join(s + "\n" for s in search), edit.replace)])
    return None


def _unbalanced(edit: CorpusEdit) -> str | None:
    lines = edit.replace.splitlines()
    added = _added(edit)
    for k in reversed(added):
        line = lines[k]
        pos = max(line.rfind(")"), line.rfind("}"), line.rfind("]"))
        if pos >= 0:
            lines[k] = line[:pos] + line[pos + 1 :]
            break
    else:
        if not added:
            return None
        k = added[-1]
        lines[k] = lines[k] + " ("
    return format_edits([SearchReplace(edit.path, edit.search, "".join(s + "\n" for s in lines))])


def _ambiguous(edit: CorpusEdit, file_text: str) -> str | None:
    file_lines = file_text.splitlines()
    search = edit.search.splitlines()
    replace = edit.replace.splitlines()
    for k, line in enumerate(search):
        if line.strip() and len(line.strip()) > 1 and file_lines.count(line) >= 2:
            # The model keeps only this line as the anchor and puts the change after it.
            added = [replace[a] for a in _added(edit)] or [line]
            new = [line, *added] if line in replace else added
            del k
            return format_edits([SearchReplace(edit.path, line + "\n", "".join(s + "\n" for s in new))])
    return None


def _outside(edit: CorpusEdit, file_text: str) -> str | None:
    lo, hi = allowed_lines(file_text, edit.path, edit.target_lines)
    lines = file_text.splitlines()
    counts: dict[str, int] = {}
    for line in lines:
        counts[line] = counts.get(line, 0) + 1
    # The farthest unique, non-blank line outside the allowed lines (before or after them).
    candidates = [
        n for n in range(1, len(lines) + 1)
        if (n < lo - 2 or n > hi + 2) and lines[n - 1].strip() and counts[lines[n - 1]] == 1
    ]
    if not candidates:
        return None
    n = max(candidates, key=lambda c: min(abs(c - lo), abs(c - hi)))
    line = lines[n - 1]
    extra = SearchReplace(edit.path, line + "\n", f"{_indent(line)}{edit.comment} NOTE: see the fix below\n{line}\n")
    return format_edits([edit.block(), extra])


def variants(edit: CorpusEdit, file_text: str) -> list[Variant]:
    """The broken variants that can be derived for this edit against ``file_text``."""
    target = edit.target_lines
    made: list[Variant] = [Variant("truncated", _truncated(edit), target)]
    block = format_edits([edit.block()])
    for kind, raw in (
        ("elided", _elided(edit)),
        ("wrong_anchor", _wrong_anchor(edit, file_text)),
        ("unbalanced", _unbalanced(edit)),
        ("ambiguous", _ambiguous(edit, file_text)),
        ("duplicated", block + "\n" + block),
        ("outside", _outside(edit, file_text)),
    ):
        if raw is not None:
            made.append(Variant(kind, raw, target))
    return made
