"""The spending guard: a call is allowed only if today's spend plus its estimate stays under the
daily cap, and this request's spend plus the estimate under the per-request cap.

Calls that cost nothing (local models, cache hits) are always allowed, so a blown budget leaves
the free tiers working; the refusal reason is what the result tells the user.
"""

from __future__ import annotations

from dataclasses import dataclass

from lsp_server.config import BudgetSettings


@dataclass(frozen=True, slots=True)
class BudgetCheck:
    allowed: bool
    reason: str | None = None


def _usd(value: float) -> str:
    return f"${value:.4f}" if value < 0.1 else f"${value:.2f}"


@dataclass(frozen=True)
class Budget:
    settings: BudgetSettings

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
