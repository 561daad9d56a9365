"""What a request cost and what it would have cost on the premium model: the one place that
decides both, so a change of policy is a change here.

A request's cost is the sum of its attempts' priced costs (an unpriced attempt adds nothing).
Its premium equivalent is what the premium model (:attr:`PriceBook.premium_model`) would have
charged for the answer's tokens: the accepted attempt's, else the last answered attempt's; a
cache hit counts the tokens of the call that first produced the answer. A request that no
model answered has none. An index answer is priced as the premium call it replaced: the
context the model would have been sent, and an answer as long as the index's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from lsp_server.ledger.prices import PriceBook

if TYPE_CHECKING:  # (Usage is only read here; importing providers would load every vendor client)
    from lsp_server.providers.base import Usage


class PricedAttempt(Protocol):
    """What the policy reads of one model call (or cache hit)."""

    @property
    def usage(self) -> Usage:
        """Tokens billed for this attempt (none for a cache hit)."""

    @property
    def answer_usage(self) -> Usage | None:
        """For a cache hit, the tokens of the call that first produced the answer."""

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
    """Prices requests and their premium equivalents (see the module docstring)."""

    def __init__(self, prices: PriceBook) -> None:
        self._prices = prices

    def spent(self, attempts: Sequence[PricedAttempt]) -> float:
        return sum(a.cost_usd or 0.0 for a in attempts)

    def request(self, attempts: Sequence[PricedAttempt],
                winner: PricedAttempt | None) -> RequestCost:
        """A finished request: its cost, and the premium cost of the answer it settled on."""
        answered = winner
        if answered is None:
            completed = [a for a in attempts if a.error is None]
            answered = completed[-1] if completed else None
        premium = None
        if answered is not None:
            premium = self._prices.premium_cost(answered.answer_usage or answered.usage)
        return RequestCost(self.spent(attempts), premium)

    def unfinished(self, attempts: Sequence[PricedAttempt]) -> RequestCost:
        """A cancelled or failed request: what it spent, and no premium equivalent."""
        return RequestCost(self.spent(attempts), None)

    def index_answer(self, replaced: Usage) -> RequestCost:
        """An answer from the index: $0, against the premium call it replaced."""
        return RequestCost(0.0, self._prices.premium_cost(replaced))
