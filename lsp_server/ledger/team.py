"""The team budget (``budget.team_daily_usd``) as the router sees it: a reservation per call.

:class:`TeamGuard` (one per ledger writer, so one per server) reserves a call's estimated cost
in the ledger (:func:`~lsp_server.ledger.reservations.reserve`: one transaction, serialized per
team and day) before the call is sent; the call's recorded attempt settles it with the real
cost. The rows this server made that are still waiting to be written count against the cap too.

When the ledger cannot be reached, the guard decides alone: the team total it last saw, plus
what this server has reserved since, plus the rows still waiting; and it says so once per
episode. The blocking work runs on a worker thread (:class:`TeamBudget` is the per-request,
async face that :class:`~lsp_server.routing.budget.Budget` calls).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import date

from lsp_server.errors import LedgerError, LedgerUnavailableError
from lsp_server.ledger.reservations import reserve
from lsp_server.ledger.store import Ledger

log = logging.getLogger(__name__)


def reservation_key(request_id: str, call: str) -> str:
    """The reservation of one model's call within a request (a model is tried once each)."""
    return f"{request_id}/{call}"


def _usd(value: float) -> str:
    return f"${value:.4f}" if value < 0.1 else f"${value:.2f}"


class TeamGuard:
    """See the module docstring. ``reader`` opens the ledger; ``waiting`` is the cost of this
    server's rows not written yet."""

    def __init__(self, reader: Callable[[], Ledger], waiting: Callable[[], float]) -> None:
        self._reader = reader
        self._waiting = waiting
        self._lock = threading.Lock()
        self._day: date | None = None
        self._last_total = 0.0  # the team's total when the ledger last answered
        self._since = 0.0  # what this server reserved after that, unseen by the ledger
        self._offline = False
        self.notice: str | None = None  # what to tell the user about this episode, once

    def reserve(self, key: str, estimate: float, cap: float) -> str | None:
        """Reserve ``estimate`` for the call ``key`` against ``cap``; None, or why not."""
        try:
            ledger = self._reader()
            today = ledger.today()
            waiting = self._waiting()
            ok, total = reserve(ledger, key, estimate, max(0.0, cap - waiting))
        except LedgerUnavailableError as exc:
            return self._alone(key, estimate, cap, str(exc))
        except LedgerError as exc:  # e.g. a URL that cannot be used: nothing to judge from
            return self._alone(key, estimate, cap, str(exc))
        with self._lock:
            if self._offline:
                log.warning("ledger: the shared ledger answers again; the team budget is "
                            "checked there")
            self._offline = False
            self._day, self._since = today, 0.0
            self._last_total = total + (estimate if ok else 0.0)  # waiting: added when used
        if ok:
            return None
        return (f"team budget reached: the team spent {_usd(total + waiting)} of {_usd(cap)} "
                f"today (calls in flight included) and the next call would cost about "
                f"{_usd(estimate)}; staying on local/free models (budget.team_daily_usd)")

    def _alone(self, key: str, estimate: float, cap: float, why: str) -> str | None:
        """Decide without the ledger: the last known team total plus this server's spend."""
        with self._lock:
            if self._day is not None and self._day != date.today():
                self._last_total, self._since, self._day = 0.0, 0.0, None  # a new day
            if not self._offline:
                self._offline = True
                self.notice = (f"the shared ledger cannot be reached ({why}); the team budget "
                               f"is enforced from the last known team total "
                               f"({_usd(self._last_total)}) plus this machine's spend")
                log.warning("ledger: %s", self.notice)
            known = self._last_total + self._since + self._waiting_safe()
            if known + estimate > cap:
                return (f"team budget reached (judged offline): {_usd(known)} of {_usd(cap)} "
                        f"known spent today and the next call would cost about "
                        f"{_usd(estimate)}; staying on local/free models")
            self._since += estimate
        return None

    def _waiting_safe(self) -> float:
        try:
            return self._waiting()
        except LedgerError:
            return 0.0

    def take_notice(self) -> str | None:
        with self._lock:
            notice, self.notice = self.notice, None
        return notice


class TeamBudget:
    """One request's face of the :class:`TeamGuard` (a :class:`~lsp_server.routing.budget.TeamLimit`)."""

    def __init__(self, guard: TeamGuard, request_id: str, cap: float) -> None:
        self._guard = guard
        self._request_id = request_id
        self._cap = cap

    async def reserve(self, call: str, estimate: float) -> str | None:
        key = reservation_key(self._request_id, call)
        return await asyncio.to_thread(self._guard.reserve, key, estimate, self._cap)
