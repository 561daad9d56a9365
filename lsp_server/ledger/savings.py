"""What a request cost, what it saved and what it avoided: the one place that decides all three,
so a change of policy is a change here.

- *Spent*: the sum of a request's attempts' priced costs, failed and rejected attempts included
  (an unpriced attempt, or one whose billing is unknown, adds nothing and is shown as such).
- *Saved*: only a request whose answer was accepted by verification and not rejected by the user
  afterwards saves anything: the premium model's price for the prompt and answer of the accepted
  call, minus everything the request spent (:data:`SAVED_SQL`). A rejected, failed or cancelled
  request has no premium equivalent.
- *Avoided*: a cache hit or an index answer made no model call; its estimated value (the
  premium model's price for that prompt and answer) is reported as an avoided call
  (:data:`AVOIDED_SQL`), never added to the savings.

The premium model is the one the router would actually use (the first ``premium`` model routed
over, configured or discovered; :data:`~lsp_server.ledger.prices.DEFAULT_PREMIUM` only when
there is none). When the accepted call was that model's, its reported tokens are used. Otherwise
the tokens are estimated from the text the call actually had: :func:`count_tokens` scaled by
:data:`CL100K_PER_ESTIMATE`, the measured ratio of real cl100k/o200k counts to the estimator's
on source code (``bench/token_estimate.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from lsp_server.config import ModelSettings
from lsp_server.context.tokens import count_tokens
from lsp_server.ledger.prices import PriceBook

if TYPE_CHECKING:  # (Usage is only read here; importing providers would load every vendor client)
    from lsp_server.providers.base import Usage

# Real cl100k_base / o200k_base tokens per estimated token on source code (tokio, ripgrep and
# this repository: the estimator counts 20.5-21.4% more; bench/README.md).
CL100K_PER_ESTIMATE = 1 / 1.21
EARNING_OUTCOMES = ("accepted",)
AVOIDED_OUTCOMES = ("cache_hit", "index")


def _when(outcomes: Sequence[str], value: str) -> str:
    """``value`` for requests with one of ``outcomes`` that the user did not reject, priced both
    ways; NULL for the others."""
    return (f"CASE WHEN outcome IN ({', '.join(repr(o) for o in outcomes)}) AND rejected = 0"
            f" AND premium_cost_usd IS NOT NULL AND cost_usd IS NOT NULL THEN {value} END")


# The same rules for SQL over the ``requests`` table: the premium equivalent of the answers that
# earn savings, the savings, and the estimated value of the avoided calls.
EARNED_PREMIUM_SQL = _when(EARNING_OUTCOMES, "premium_cost_usd")
SAVED_SQL = _when(EARNING_OUTCOMES, "premium_cost_usd - cost_usd")
AVOIDED_SQL = _when(AVOIDED_OUTCOMES, "premium_cost_usd")


def estimated_tokens(text: str) -> int:
    """Tokens of ``text`` for a tokenizer that was not run (see the module docstring)."""
    return round(count_tokens(text) * CL100K_PER_ESTIMATE)


class PricedAttempt(Protocol):
    """What the policy reads of one model call (or cache hit)."""

    @property
    def provider(self) -> str:
        """The configured model's name."""

    @property
    def usage(self) -> Usage:
        """Tokens billed for this attempt (none for a cache hit)."""

    @property
    def answer_usage(self) -> Usage | None:
        """For a cache hit, the tokens of the call that first produced the answer."""

    @property
    def cached(self) -> bool:
        """Whether the answer came from the response cache."""

    @property
    def cost_usd(self) -> float | None:
        """USD billed; None when the model is unpriced."""

    @property
    def error(self) -> str | None:
        """Why the call failed; None when it answered."""


@dataclass(frozen=True)
class RequestCost:
    cost_usd: float
    premium_cost_usd: float | None


class SavingsPolicy:
    """Prices requests and their premium equivalents (see the module docstring).

    ``premium`` returns the premium model the router would use (default: the price book's).
    """

    def __init__(self, prices: PriceBook,
                 premium: Callable[[], ModelSettings] | None = None) -> None:
        self._prices = prices
        self._premium = premium or (lambda: prices.premium_model)

    @property
    def premium_model(self) -> ModelSettings:
        return self._premium()

    def spent(self, attempts: Sequence[PricedAttempt]) -> float:
        return sum(a.cost_usd or 0.0 for a in attempts)

    def premium_usage(self, prompt: str, answer: str) -> Usage:
        """The premium model's tokens for a call with this prompt and answer, estimated."""
        from lsp_server.providers.base import Usage

        return Usage(input=estimated_tokens(prompt), output=estimated_tokens(answer))

    def request(self, attempts: Sequence[PricedAttempt], winner: PricedAttempt | None,
                estimate: Usage | None = None) -> RequestCost:
        """A finished request: its cost, and the premium cost of its accepted answer (none when
        no answer was accepted). ``estimate``: the winner's prompt and answer in the premium
        model's tokens (:meth:`premium_usage`), used unless the winner was the premium model."""
        premium = None
        if winner is not None:
            model = self.premium_model
            measured = winner.provider == model.name and not winner.cached
            usage = winner.usage if measured else estimate or winner.answer_usage or winner.usage
            premium = self._prices.cost(model, usage)
        return RequestCost(self.spent(attempts), premium)

    def unfinished(self, attempts: Sequence[PricedAttempt]) -> RequestCost:
        """A cancelled or failed request: what it spent, and no premium equivalent."""
        return RequestCost(self.spent(attempts), None)

    def index_answer(self, replaced: Usage) -> RequestCost:
        """An answer from the index: $0, against the premium call it avoided."""
        return RequestCost(0.0, self._prices.cost(self.premium_model, replaced))
