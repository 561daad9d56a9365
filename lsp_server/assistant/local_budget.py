"""The local tier's context budget, sized to the local model's measured speed.

On a CPU a local model spends most of a call reading its prompt (issue 28: about 250 prompt
tokens/s on two cores against 40 generated tokens/s), and the router stops an answer whose
first token has not come within ``routing.first_token_timeout_s``. So the local context is cut
to what the model can read within that budget, with margin:

* :func:`estimate_speed` learns the model's prompt speed from its latest calls in the ledger:
  input tokens over the time to the first streamed token. A call with no first token (stopped
  at the first-token limit) says only that reading took longer than its whole time; it counts
  as :data:`UNFINISHED_FACTOR` of the speed that time gives, so that after a stop the next
  context is cut well below what just failed rather than just below it. A prompt whose prefix the server had
  cached reads as fast, so the estimate is the slower quartile of the calls, not their mean.
* :func:`local_context_budget` turns a speed into tokens: the prompt may use
  :data:`PROMPT_SHARE` of the first-token budget; the prompt's fixed part (system text,
  instruction, selection) comes off first; tokens the server's prefix cache will skip (the
  prefix identical to the previous local prompt's) cost :data:`CACHED_COST` of a fresh one.
  Before any call has been measured the speed is :data:`DEFAULT_PROMPT_TPS`, a small model on
  a laptop CPU; ``context.budget_tokens`` stays the ceiling.

Only the local tier is sized this way: a cloud model reads a prompt in well under a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lsp_server.ledger.store import CallTiming

# Before any call is measured: a 1-3B model on a 2-4 core laptop reads 150-300 tokens/s.
DEFAULT_PROMPT_TPS = 200.0
# The share of the first-token budget the prompt may take: the machine's load varies between
# calls, and the first token itself needs a moment after the prompt is read.
PROMPT_SHARE = 0.5
# A prefix-cached token against a fresh one (llama.cpp: 1,096 cached tokens in 0.01 s against
# 4.3 s fresh, about 0.3%; rounded up, since a cache can be evicted).
CACHED_COST = 0.05
# A call with no first token read its prompt slower than its whole time says: by how much is
# unknown, so count it at half that speed (see the module docstring).
UNFINISHED_FACTOR = 0.5
# Calls with fewer input tokens than this measure mostly fixed overhead, not reading speed.
MIN_MEASURED_INPUT = 64
# A generation speed needs this many tokens after the first one to mean anything.
MIN_MEASURED_OUTPUT = 8
# The context builder's own floor (``context.budget_tokens`` may not go below it either).
MIN_CONTEXT_TOKENS = 256


@dataclass(frozen=True)
class Speed:
    """A model's measured speed: prompt tokens read and answer tokens written per second."""

    prompt_tps: float
    generation_tps: float | None
    samples: int


def estimate_speed(calls: Sequence[CallTiming]) -> Speed | None:
    """The speed the calls measured (see the module docstring), or None with none usable."""
    rates: list[float] = []
    generation: list[float] = []
    for call in calls:
        if call.input_tokens < MIN_MEASURED_INPUT:
            continue
        reading_ms = call.first_token_ms if call.first_token_ms is not None else call.latency_ms
        if reading_ms <= 0:
            continue
        rate = call.input_tokens / (reading_ms / 1000)
        rates.append(rate if call.first_token_ms is not None else rate * UNFINISHED_FACTOR)
        if call.first_token_ms is not None and call.output_tokens >= MIN_MEASURED_OUTPUT:
            writing_ms = call.latency_ms - call.first_token_ms
            if writing_ms > 0:
                generation.append(call.output_tokens / (writing_ms / 1000))
    if not rates:
        return None
    rates.sort()
    generation.sort()
    return Speed(prompt_tps=rates[len(rates) // 4],
                 generation_tps=generation[len(generation) // 2] if generation else None,
                 samples=len(rates))


def local_context_budget(speed: Speed | None, first_token_s: float | None, *, ceiling: int,
                         fixed_tokens: int = 0, reused_tokens: int = 0) -> int:
    """The context token budget for a local model of ``speed`` (None: not measured yet) that
    must start answering within ``first_token_s`` (None: no limit, so ``ceiling``).
    ``fixed_tokens``: the prompt's parts outside the context; ``reused_tokens``: context
    tokens expected to be in the server's prefix cache."""
    if first_token_s is None:
        return ceiling
    tps = speed.prompt_tps if speed is not None else DEFAULT_PROMPT_TPS
    affordable = tps * first_token_s * PROMPT_SHARE - fixed_tokens
    reused = max(0, reused_tokens)
    fresh = affordable - reused * CACHED_COST
    if fresh > 0:
        budget = int(reused + fresh)
    else:  # even the cached part costs more than the budget: as much of it as fits
        budget = min(reused, int(max(0.0, affordable) / CACHED_COST))
    return max(MIN_CONTEXT_TOKENS, min(ceiling, budget))
