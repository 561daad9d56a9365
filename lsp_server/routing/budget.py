"""The spending guard: a call is allowed only if today's spend plus its estimate stays under the
daily cap, and this request's spend plus the estimate under the per-request cap.

Calls that cost nothing (local models, cache hits) are always allowed, so a blown budget leaves
the free tiers working; the refusal reason is what the result tells the user.

A team's daily cap (``budget.team_daily_usd`` with a shared ledger) is held outside this
process: :meth:`Budget.admit` runs the checks above, then reserves the call's estimate against
the team's spend through a :class:`TeamLimit` (the ledger's, off the event loop), so concurrent
servers can never together pass the cap by more than their estimates' error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from lsp_server.config import BudgetSettings


@dataclass(frozen=True, slots=True)
class BudgetCheck:
    allowed: bool
    reason: str | None = None


def _usd(value: float) -> str:
    return f"${value:.4f}" if value < 0.1 else f"${value:.2f}"


class TeamLimit(Protocol):
    """A team's daily cap kept in the shared ledger, for one request's calls."""

    async def reserve(self, call: str, estimate: float) -> str | None:
        """Reserve ``estimate`` USD of the team's day for ``call`` (the model's name); None
        when reserved, else why not. The call's recorded attempt settles the reservation."""


@dataclass(frozen=True)
class Budget:
    settings: BudgetSettings
    team: TeamLimit | None = None

    async def admit(self, *, call: str, spent_today: float, spent_request: float,
                    estimate: float | None) -> BudgetCheck:
        """:meth:`check`, then (when allowed and priced) the team's reservation for ``call``."""
        check = self.check(spent_today=spent_today, spent_request=spent_request,
                           estimate=estimate)
        if not check.allowed or self.team is None or estimate is None or estimate <= 0:
            return check
        refused = await self.team.reserve(call, estimate)
        return check if refused is None else BudgetCheck(False, refused)

    def check(self, *, spent_today: float, spent_request: float, estimate: float | None) -> BudgetCheck:
        """Whether a call estimated at ``estimate`` USD may go ahead (None: unpriced model)."""
        if estimate is not None and estimate <= 0:
            return BudgetCheck(True)
        cost = estimate or 0.0
        daily = self.settings.daily_usd
        if spent_today + cost > daily:
            return BudgetCheck(False, (
                f"daily budget reached: {_usd(spent_today)} spent of {_usd(daily)} today and the "
                f"next call would cost about {_usd(cost)}; staying on local/free models "
                f"(raise budget.daily_usd to allow more)"))
        cap = self.settings.per_request_usd
        if cap is not None and spent_request + cost > cap:
            return BudgetCheck(False, (
                f"per-request budget reached: this request spent {_usd(spent_request)} of "
                f"{_usd(cap)} and the next call would cost about {_usd(cost)}; staying on "
                f"local/free models (raise budget.per_request_usd to allow more)"))
        if estimate is None:
            return BudgetCheck(True, "the model has no known price: its cost cannot be checked "
                                     "in advance (set a price in its [models.price] table)")
        return BudgetCheck(True)
