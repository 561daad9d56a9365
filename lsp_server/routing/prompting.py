"""The request-specific part of a prompt: the instruction, the selection, the diagnostics and,
when escalating, why the previous answer was not accepted.

The system text comes from the edits engine (per task kind and edit format) and the context
from the context builder; this module only writes the tail, which is the part that changes with
every request, so it goes last (after the cacheable prefix).
"""

from __future__ import annotations

from collections.abc import Sequence

ANSWER_SYSTEM = (
    "You are a precise coding assistant working inside the user's editor. Answer the question "
    "about this project from the context given. Answer in plain Markdown, at most a few short "
    "paragraphs; name files and symbols exactly as they appear. No preamble and no edit blocks."
)


def selection_text(text: str | None, line_range: tuple[int, int] | None) -> str | None:
    """Lines ``line_range`` (1-based, inclusive) of ``text``."""
    if text is None or line_range is None:
        return None
    lines = text.split("\n")
    start, end = max(1, line_range[0]), min(len(lines), line_range[1])
    if start > end:
        return None
    return "\n".join(lines[start - 1:end])


def instruction_block(
    instruction: str,
    *,
    path: str | None,
    line_range: tuple[int, int] | None,
    selection: str | None,
    diagnostics: Sequence[str] = (),
    failure: str | None = None,
    language: str = "",
) -> str:
    """The tail of the prompt, in a fixed layout."""
    parts: list[str] = []
    if path is not None:
        where = f"{path}" + (f" lines {line_range[0]}-{line_range[1]}" if line_range else "")
        parts.append(f"Target: {where}")
    if selection is not None:
        parts.append(f"Selected code:\n```{language}\n{selection}\n```")
    if diagnostics:
        parts.append("Diagnostics:\n" + "\n".join(f"- {d}" for d in diagnostics))
    parts.append(f"Instruction: {instruction.strip()}")
    if failure:
        parts.append(
            "A previous answer to this request was not accepted: " + failure
            + ". Avoid that problem in your answer."
        )
    return "\n\n".join(parts)
