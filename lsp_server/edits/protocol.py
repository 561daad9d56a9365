"""The edit data types shared by the parser, the applier, the verifier and the LSP layer.

A model's answer becomes :class:`SearchReplace` or :class:`DefinitionReplace` values (what the
model asked for), which the applier turns into :class:`TextEdit` values (exact offsets in the
text that was read) grouped per file in :class:`FileChange`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SEARCH_REPLACE = "search_replace"
WHOLE_DEFINITION = "whole_definition"
EDIT_FORMATS: tuple[str, ...] = (SEARCH_REPLACE, WHOLE_DEFINITION)


@dataclass(frozen=True)
class SearchReplace:
    """Replace the one place in ``path`` that reads ``search`` by ``replace``.

    Both texts use ``\\n`` line ends and, when not empty, end with one. An empty ``search``
    creates ``path`` (it must not exist yet, or be empty).
    """

    path: str
    search: str
    replace: str


@dataclass(frozen=True)
class DefinitionReplace:
    """Replace the whole definition named ``symbol`` (``area``, ``Circle::area``, ``Stock.add``)."""

    path: str
    symbol: str
    new_text: str


Edit = SearchReplace | DefinitionReplace


@dataclass(frozen=True)
class TextEdit:
    """Replace ``[start, end)`` (string offsets in the original text) of ``path`` by ``new_text``."""

    path: str
    start: int
    end: int
    new_text: str


@dataclass
class FileChange:
    """All edits to one file: the text they were computed against and the text they produce."""

    path: str
    old_text: str
    new_text: str
    edits: list[TextEdit] = field(default_factory=list)
    created: bool = False


@dataclass(frozen=True)
class AnchorMatch:
    """Where an edit landed and how it was found (``exact``, ``whitespace``, ``fuzzy``, ``symbol``)."""

    path: str
    method: str
    similarity: float
    start: int
    end: int


def check_format(edit_format: str) -> str:
    """``edit_format`` itself, or a ValueError naming the known formats."""
    if edit_format not in EDIT_FORMATS:
        raise ValueError(f"unknown edit format {edit_format!r}; expected one of {EDIT_FORMATS}")
    return edit_format
