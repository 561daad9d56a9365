"""Task kinds and what each one produces: an edit, a prose answer, or an index lookup.

The kind fixes how an answer is judged (edits are parsed and verified; prose is checked for
substance; searches never reach a model) and how much output a call is expected to produce,
which is what the budget check and the code-action price estimates use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TaskKind = Literal["explain", "fix", "rewrite", "document", "tests", "ask", "search"]
TASK_KINDS: tuple[TaskKind, ...] = ("explain", "fix", "rewrite", "document", "tests", "ask", "search")

# What a request turns into once classified.
Mode = Literal["edit", "answer", "search"]


@dataclass(frozen=True, slots=True)
class KindProfile:
    """Static facts about a kind: default mode, its base complexity, typical output tokens."""

    mode: Mode
    base_score: float
    output_tokens: int
    label: str


PROFILES: dict[str, KindProfile] = {
    "explain": KindProfile("answer", 0.0, 350, "explain"),
    "document": KindProfile("edit", 0.0, 450, "document"),
    "fix": KindProfile("edit", 0.5, 400, "fix"),
    "rewrite": KindProfile("edit", 1.0, 600, "rewrite"),
    "tests": KindProfile("edit", 1.0, 900, "generate tests"),
    "ask": KindProfile("answer", 0.5, 500, "instruction"),
    "search": KindProfile("search", 0.0, 0, "search"),
}


def is_task_kind(value: str) -> bool:
    return value in PROFILES


def profile(kind: str) -> KindProfile:
    """The profile of ``kind`` (unknown kinds read as a free instruction)."""
    return PROFILES.get(kind, PROFILES["ask"])
