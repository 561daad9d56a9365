"""System prompts as data: one short, strict instruction per task kind and edit format.

Output tokens cost the most, so every prompt asks for the change only: never a whole file, no
prose unless the task is an explanation. Prompts are versioned (``PROMPT_VERSION`` goes into the
ledger and the response-cache key, so a prompt change never serves answers made for the old one)
and each stays under ``MAX_PROMPT_TOKENS`` (a test holds them to it).
"""

from __future__ import annotations

from lsp_server.edits.protocol import EDIT_FORMATS, SEARCH_REPLACE, WHOLE_DEFINITION

PROMPT_VERSION = "edits-v1"
KINDS: tuple[str, ...] = ("explain", "fix", "rewrite", "document", "tests", "ask")
MAX_PROMPT_TOKENS = 400

_ROLE = "You are a precise coding assistant working inside the user's editor."

_TASKS: dict[str, str] = {
    "explain": "Explain the selected code: what it does, why, and anything surprising.",
    "fix": "Fix the bug or diagnostic in the selected code with the smallest correct change.",
    "rewrite": "Rewrite the selected code as the instruction asks; keep its behaviour otherwise.",
    "document": "Add or improve doc comments for the selected code; do not change its logic.",
    "tests": "Write focused unit tests for the selected code in the project's test style.",
    "ask": "Do what the instruction asks about the selected code.",
}

_PLAIN = (
    "Answer in plain Markdown, at most a few short paragraphs. No preamble, no restating the "
    "question, and no edit blocks."
)

_SEARCH_REPLACE = """\
Answer ONLY with search/replace blocks, no other text. Each block is:
path/of/file.ext
<<<<<<< SEARCH
exact lines copied from the file
=======
the new lines
>>>>>>> REPLACE
Rules:
- The path is alone on the line before <<<<<<< SEARCH, relative to the project root.
- SEARCH copies whole lines exactly (same indentation), enough to match one place only.
- Keep blocks small: only the lines that change plus a line or two of context.
- Write every new line in full; never elide with "..." or "rest of code" comments.
- To create a file, leave SEARCH empty.
- Several blocks are allowed; they must not overlap."""

_WHOLE_DEFINITION = """\
Answer ONLY with definition replacements, no other text. Each one is:
REPLACE <name> IN <path/of/file.ext>
```
the complete new definition
```
Rules:
- <name> is the function, method, class or struct to replace, e.g. area or Circle::area.
- Write the complete definition, signature and body, with its doc comment if it has one.
- Never elide with "..." or "rest of code" comments.
- To add a helper, put it in the same block after the definition you replace."""

_ASK_NOTE = "If the instruction is a question and needs no code change, answer it in plain text instead."

_FORMATS: dict[str, str] = {SEARCH_REPLACE: _SEARCH_REPLACE, WHOLE_DEFINITION: _WHOLE_DEFINITION}


def system_prompt(kind: str, edit_format: str) -> str:
    """The system prompt for a task ``kind`` (see ``KINDS``) answered in ``edit_format``.

    ``explain`` always answers in plain text, whatever the edit format.
    """
    if kind not in _TASKS:
        raise ValueError(f"unknown task kind {kind!r}; expected one of {KINDS}")
    if edit_format not in EDIT_FORMATS:
        raise ValueError(f"unknown edit format {edit_format!r}; expected one of {EDIT_FORMATS}")
    parts = [_ROLE, _TASKS[kind]]
    if kind == "explain":
        parts.append(_PLAIN)
    else:
        parts.append(_FORMATS[edit_format])
        if kind == "ask":
            parts.append(_ASK_NOTE)
    return "\n\n".join(parts)


def answers_with_edits(kind: str) -> bool:
    """Whether answers to ``kind`` are expected to hold edits (``explain`` is plain text)."""
    return kind != "explain"
