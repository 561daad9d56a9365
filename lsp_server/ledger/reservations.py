"""The team budget's rows in the ledger: reservations of calls in flight, and the team's total.

A paid call reserves its estimated cost before it is sent (:func:`reserve`); the call's recorded
attempt settles it (:meth:`~lsp_server.ledger.store.Ledger.record_attempt` removes the
reservation as it adds the real cost); one never settled (the process died) lapses after its
time to live. :mod:`lsp_server.ledger.team` decides with these rows, and alone when the ledger
cannot be reached.
"""

from __future__ import annotations

import time
from datetime import date

from lsp_server.ledger.backend import Sql
from lsp_server.ledger.store import Ledger


def team_spent_on(ledger: Ledger, day: date, now: float | None = None) -> float:
    """USD the whole ledger (a team's, when shared) spent on ``day``, with the reservations of
    calls still in flight."""
    moment = time.time() if now is None else now
    with ledger.reading() as db:
        return _team_total(db, day.isoformat(), moment)


def reserve(ledger: Ledger, reservation: str, amount_usd: float, cap_usd: float, *,
            ttl_s: float = 600.0) -> tuple[bool, float]:
    """Reserve ``amount_usd`` of today's team budget for one call, if the team's spend, the
    reservations in flight and this amount stay within ``cap_usd``; returns whether it was
    reserved and the team total it was judged against. One transaction, serialized per team and
    day (an advisory lock in PostgreSQL, the write lock in SQLite), so concurrent servers cannot
    together pass the cap."""
    stamp = time.time()
    day = ledger.today().isoformat()
    with ledger.writing() as db:
        if ledger.dialect == "postgresql":
            db.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"ao-budget:{day}",))
        db.execute("DELETE FROM reservations WHERE expires < ?", (stamp,))
        total = _team_total(db, day, stamp)
        if total + amount_usd > cap_usd:
            return False, total
        db.execute(
            "INSERT INTO reservations (id, day, user_name, amount_usd, expires) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
            "amount_usd = excluded.amount_usd, expires = excluded.expires",
            (reservation, day, ledger.user, amount_usd, stamp + ttl_s))
    return True, total


def _team_total(db: Sql, day: str, now: float) -> float:
    """The day's spend in ``daily_spend`` plus the live reservations."""
    row = db.execute(
        "SELECT COALESCE((SELECT cost_usd FROM daily_spend WHERE day = ?), 0) + "
        "COALESCE((SELECT SUM(amount_usd) FROM reservations WHERE day = ? AND expires >= ?), 0)",
        (day, day, now)).fetchone()
    return float(row[0])
