"""A fast token estimate, so budgets can be kept without loading a model's tokenizer.

Byte-pair tokenizers (cl100k, o200k, Claude's) turn a short common word into one token, split
long identifiers into pieces of about five to seven letters, keep digits in groups of up to
three, and give most punctuation a token of its own while a newline with its indentation is one
token. :func:`count_tokens` counts exactly those pieces with one compiled regex and costs a few
microseconds per kilobyte. Measured on source code (``bench/token_estimate.py``: tokio, ripgrep
and this repository) it counts 20.5-21.4% more tokens than cl100k and o200k in total, 22-23% more
per file at the median: a safe side for budgets; the savings policy scales it down
(:data:`lsp_server.ledger.savings.CL100K_PER_ESTIMATE`).
"""

from __future__ import annotations

import re

_PIECE = re.compile(r"\n[ \t]*|[ \t]*(?:[A-Za-z]{1,6}|\d{1,3}|[^\sA-Za-z\d]{1,2}|[^\x00-\x7f])")


def count_tokens(text: str) -> int:
    """Estimated tokens in ``text`` (see the module docstring for the rule)."""
    if not text:
        return 0
    # Counting substitutions builds no list of pieces: about 30% faster than ``findall`` on a
    # whole file, the same on a line.
    return _PIECE.subn("", text)[1]


def line_prefix(text: str) -> list[int]:
    """Running token count by line: entry ``i`` is what lines ``1..i`` of ``text`` cost,
    each line with its newline, so a range of lines costs a subtraction."""
    prefix = [0]
    total = 0
    for line in text.split("\n"):
        total += count_tokens(line) + 1
        prefix.append(total)
    return prefix

