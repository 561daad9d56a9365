"""The ledger: one SQLite row per request and per model attempt, in the state directory.

Several processes (two editor windows, the CLI) may write at once: every write is one short
``BEGIN IMMEDIATE`` transaction under the file's busy timeout, so writers queue instead of
failing and no row is lost. Within a process one connection is shared under a lock.

What is stored: ids, times, workspace path, task kind, classification and its reasons, outcome,
feedback, variant, whether a higher tier existed, the model whose answer was accepted, and per
attempt the provider, model, tier, token counts, cost and how it is known (``cost_status``:
measured, estimated, unknown), latency, confidence and error class. Prompt and response text
are stored only when the ``ledger.store_prompts`` setting asks for it; strings that look like API
keys are masked in any free text that is stored (:mod:`~lsp_server.ledger.free_text`).

The file itself (WAL settings, background checkpoints, a damaged ledger copied aside as
``ledger.sqlite3.damaged-<UTC time>`` and a fresh one started) is
:mod:`~lsp_server.ledger.sqlite_file`'s; :attr:`Ledger.rebuilt` says what was done for the user.
A write that fails because the file is locked for longer than the busy timeout, read-only, on a
full disk or damaged raises :class:`~lsp_server.errors.LedgerUnavailableError`
(:mod:`~lsp_server.ledger.writer` keeps such rows until they can be written).

With ``ledger.url`` the same records and reports live in a team's PostgreSQL database
(:mod:`~lsp_server.ledger.postgres`); :mod:`~lsp_server.ledger.backend` hides the difference.
Every row then says who made it (``ledger.user``) and on which machine, and the day's spend
that the per-user budget reads is the user's own (``user_spend``) while ``daily_spend`` is the
team's. A team budget reserves a call's estimate before it is sent (:func:`lsp_server.ledger.reservations.reserve`) and
the attempt's record settles it with the real cost in the same transaction. Rows written again
after a failure are not duplicated: an attempt carries a ``row_key``, and a replayed start of a
request that is already there is skipped.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from lsp_server.config import Settings, SettingsSource
from lsp_server.errors import ConfigError, LedgerError
from lsp_server.ledger import sqlite_file
from lsp_server.ledger.backend import Backend, RowConflictError, Sql, SqliteBackend, rows_as_dicts
from lsp_server.ledger.free_text import reasons_json, scrub, tool_calls_json
from lsp_server.ledger.identity import ledger_url, machine_id, user_name
from lsp_server.ledger.labels import Labels
from lsp_server.ledger.savings import AVOIDED_SQL, EARNED_PREMIUM_SQL, SAVED_SQL
from lsp_server.paths import state_dir

if TYPE_CHECKING:  # (Usage is only read here; importing providers would load every vendor client)
    from lsp_server.ledger.compare import Comparison
    from lsp_server.ledger.reports import Report
    from lsp_server.providers.base import Usage

log = logging.getLogger(__name__)

LEDGER_FILENAME = "ledger.sqlite3"
OUTCOMES = ("accepted", "rejected", "failed", "cancelled", "cache_hit", "index")
COST_STATUSES = ("measured", "estimated", "unknown")


@dataclasses.dataclass(frozen=True)
class CallTiming:
    """What one model call measured: its tokens, its time, and when its first token came."""

    input_tokens: int
    output_tokens: int
    latency_ms: float
    first_token_ms: float | None


MIN_PREFIX = 6  # the shortest request id prefix :meth:`Ledger.resolve_id` accepts


def as_date(value: date | datetime | str) -> date:
    """A calendar day from a date, a datetime or an ISO string (YYYY-MM-DD)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise LedgerError(f"{value!r} is not a date (expected YYYY-MM-DD)") from None


class Ledger:
    """Records requests and attempts, and answers the questions reports and the budget ask."""

    def __init__(
        self,
        backend: Backend,
        path: Path | None,
        settings: Settings | SettingsSource | None = None,
        tz: tzinfo | None = None,
        busy_timeout_ms: int = sqlite_file.BUSY_TIMEOUT_MS,
        url: str | None = None,
    ) -> None:
        self._backend = backend
        self.path = path  # the SQLite file; None for a shared ledger
        self.url = url  # the shared ledger's URL (with its password: never show it)
        self.busy_timeout_ms = busy_timeout_ms
        self.rebuilt: str | None = None  # what was done with a damaged ledger found on opening
        self._settings = SettingsSource.of(settings)
        self.tz = tz
        self._lock = threading.RLock()
        self._labels = Labels(self._settings)
        self.user = user_name(self._settings.current)
        self.machine = machine_id(self._settings.current) if backend.shared else ""

    # -- opening ---------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The current settings (model labels, whether prompts are stored)."""
        return self._settings.current

    @classmethod
    def default_path(cls, settings: Settings | None = None) -> Path:
        return state_dir(settings) / LEDGER_FILENAME

    @classmethod
    def open(
        cls,
        path: Path | None = None,
        settings: Settings | SettingsSource | None = None,
        *,
        tz: tzinfo | None = None,
        busy_timeout_ms: int | None = None,
        url: str | None = None,
    ) -> Ledger:
        """Open (creating and migrating as needed) the ledger: ``url`` (a shared PostgreSQL
        ledger), else ``path``, else the settings' ``ledger.url``/``ledger.url_env``, else
        ``<state_dir>/ledger.sqlite3``.

        ``tz`` decides which calendar day a request belongs to (default: the system's local zone).
        A damaged SQLite file is copied aside and a fresh one started (see the module docstring).
        """
        source = SettingsSource.of(settings)
        if url is None and path is None:
            try:
                url = ledger_url(source.current)
            except ConfigError as exc:
                raise LedgerError(str(exc)) from None
        if busy_timeout_ms is None:
            busy_timeout_ms = sqlite_file.BUSY_TIMEOUT_MS  # read when called: tests shorten it
        if url is not None:
            from lsp_server.ledger.postgres import PostgresBackend

            backend: Backend = PostgresBackend(url, source.current.ledger.team)
            return cls(backend, None, source, tz, busy_timeout_ms, url)
        target = Path(path) if path is not None else cls.default_path(source.current)
        sqlite = SqliteBackend(target, busy_timeout_ms)
        ledger = cls(sqlite, target, source, tz, busy_timeout_ms)
        ledger.rebuilt = sqlite.rebuilt
        return ledger

    def another(self) -> Ledger:
        """A second connection to the same ledger, with the same settings (for a writer thread)."""
        return Ledger.open(self.path, self._settings, tz=self.tz,
                           busy_timeout_ms=self.busy_timeout_ms, url=self.url)

    @property
    def shared(self) -> bool:
        """Whether this is a team's shared ledger (PostgreSQL), not this machine's file."""
        return self._backend.shared

    @property
    def dialect(self) -> str:
        """The back end's SQL dialect (``sqlite`` or ``postgresql``)."""
        return self._backend.dialect

    @property
    def where(self) -> str:
        """Where the rows live, for messages (a shared ledger's URL without its password)."""
        return self._backend.where

    def close(self) -> None:
        """Close the ledger (the last connection to close folds the WAL into the database)."""
        with self._lock:
            self._backend.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """The SQLite file's connection, for read-only queries (tests, diagnostics)."""
        if not isinstance(self._backend, SqliteBackend):
            raise LedgerError("a shared ledger has no SQLite connection")
        return self._backend.conn

    @contextmanager
    def reading(self) -> Iterator[Sql]:
        """A connection for read-only queries, on either back end."""
        with self._lock, self._backend.reading() as db:
            yield db

    # -- time ------------------------------------------------------------------------------

    def _aware(self, now: datetime | None) -> datetime:
        if now is None:
            return datetime.now(UTC)
        if now.tzinfo is None:
            return now.replace(tzinfo=self.tz) if self.tz is not None else now.astimezone()
        return now

    def day_of(self, moment: datetime | None = None) -> date:
        """The calendar day (in the ledger's time zone) that ``moment`` belongs to."""
        aware = self._aware(moment)
        if self.tz is not None:
            return aware.astimezone(self.tz).date()
        return date(*time.localtime(aware.timestamp())[:3])  # the system zone, DST included

    def today(self, now: datetime | None = None) -> date:
        return self.day_of(now)

    # -- writing ---------------------------------------------------------------------------

    def writing(self) -> AbstractContextManager[Sql]:
        """One write transaction for bulk work (``ledger migrate``), on either back end."""
        return self._write()

    @contextmanager
    def _write(self) -> Iterator[Sql]:
        """One write transaction. A failure of the storage (a file locked past the busy
        timeout, read-only, full or damaged; a database that cannot be reached) is a
        LedgerUnavailableError; a row that breaks a constraint is a RowConflictError."""
        with self._lock, self._backend.transaction() as db:
            yield db

    def start_request(
        self,
        *,
        kind: str,
        workspace: str,
        classification: str,
        reasons: Sequence[str] = (),
        variant: str | None = None,
        request_id: str | None = None,
        higher_tier: bool | None = None,
        now: datetime | None = None,
        replay: bool = False,
    ) -> str:
        """Record a new request and return its id (generated unless given).

        ``higher_tier``: whether a tier above the starting one could be escalated to (None:
        not known); the escalation rate counts only requests that had one. ``replay``: the row
        may have been written already by an earlier try whose answer was lost; then nothing
        is written (otherwise an id already there is an error)."""
        rid = request_id or uuid.uuid4().hex[:16]
        moment = self._aware(now)
        try:
            with self._write() as conn:
                if replay and conn.execute(
                        "SELECT 1 FROM requests WHERE id = ?", (rid,)).fetchone() is not None:
                    return rid
                conn.execute(
                    "INSERT INTO requests (id, ts, day, workspace, kind, classification, reasons, "
                    "variant, higher_tier, user_name, machine) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (rid, moment.timestamp(), self.day_of(moment).isoformat(), workspace, kind,
                     classification, reasons_json(reasons), variant,
                     None if higher_tier is None else int(higher_tier), self.user, self.machine),
                )
        except RowConflictError:
            raise LedgerError(f"request id {rid} is already in the ledger") from None
        return rid

    def label_for(self, provider: str, model: str, tier: str) -> str:
        """The report label of the model behind an attempt (see :mod:`lsp_server.ledger.labels`)."""
        return self._labels.label_for(provider, model, tier)

    def record_attempt(
        self,
        request_id: str,
        *,
        provider: str,
        model: str,
        tier: str,
        usage: Usage,
        cost_usd: float | None,
        latency_ms: float,
        confidence: float | None,
        error_class: str | None,
        reasons: Sequence[str] = (),
        label: str | None = None,
        prompt: str | None = None,
        response: str | None = None,
        cost_status: str = "measured",
        now: datetime | None = None,
        row_key: str | None = None,
        reservation: str | None = None,
        first_token_ms: float | None = None,
        stopped: str | None = None,
        tool_calls: Sequence[Mapping[str, Any]] = (),
    ) -> int:
        """Record one model call of a request; returns its sequence number (1, 2, ...).

        ``provider`` is the configured model's name (or the provider kind); ``cost_usd`` None
        means unpriced. ``cost_status`` says how the tokens and cost are known; an ``unknown``
        one is stored without a cost (never as $0). ``prompt``/``response`` are kept only with
        ``ledger.store_prompts``. ``row_key``: this attempt's idempotency key; an attempt with
        that key already stored is not written again. ``reservation``: the team budget
        reservation this call made (:func:`~lsp_server.ledger.reservations.reserve`), settled here by the real cost.
        ``first_token_ms``: when the first streamed token came (None: none, or not streamed);
        ``stopped``: why the router stopped the answer early (None: it ran to its end);
        ``tool_calls``: the calls a tool turn made (``name``, ``args``, ``ok``), kept as
        :func:`~lsp_server.ledger.free_text.tool_calls_json` says.
        """
        if cost_status not in COST_STATUSES:
            raise LedgerError(f"cost status {cost_status!r} is not one of {', '.join(COST_STATUSES)}")
        if cost_status == "unknown":
            cost_usd = None
        moment = self._aware(now)
        day = self.day_of(moment).isoformat()
        shown = label or self.label_for(provider, model, tier)
        with self._write() as conn:
            if row_key is not None:
                done = conn.execute(
                    "SELECT seq FROM attempts WHERE row_key = ?", (row_key,)).fetchone()
                if done is not None:
                    return int(done[0])
            row = conn.execute(
                "SELECT attempt_count FROM requests WHERE id = ?", (request_id,)
            ).fetchone()
            if row is None:
                raise LedgerError(f"no request {request_id} in the ledger")
            seq = int(row[0]) + 1
            conn.execute(
                "INSERT INTO attempts (request_id, seq, ts, day, provider, model, tier, "
                "input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, "
                "latency_ms, confidence, error_class, reasons, label, cost_status, user_name, "
                "row_key, first_token_ms, stopped, tool_calls, tool_call_count) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (request_id, seq, moment.timestamp(), day, provider, model, tier, usage.input,
                 usage.output, usage.cache_read, usage.cache_write, cost_usd, latency_ms,
                 confidence, scrub(error_class, 200) if error_class else None,
                 reasons_json(reasons), shown, cost_status, self.user, row_key,
                 first_token_ms, scrub(stopped, 200) if stopped else None,
                 tool_calls_json(tool_calls), len(tool_calls)),
            )
            conn.execute("UPDATE requests SET attempt_count = ? WHERE id = ?", (seq, request_id))
            spend = (cost_usd or 0.0, 1 if cost_usd is None else 0)
            conn.execute(
                "INSERT INTO daily_spend (day, cost_usd, unpriced) VALUES (?, ?, ?) "
                "ON CONFLICT(day) DO UPDATE SET cost_usd = daily_spend.cost_usd + "
                "excluded.cost_usd, unpriced = daily_spend.unpriced + excluded.unpriced",
                (day, *spend),
            )
            conn.execute(
                "INSERT INTO user_spend (day, user_name, cost_usd, unpriced) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(day, user_name) DO UPDATE SET cost_usd = user_spend.cost_usd + "
                "excluded.cost_usd, unpriced = user_spend.unpriced + excluded.unpriced",
                (day, self.user, *spend),
            )
            if reservation is not None:
                conn.execute("DELETE FROM reservations WHERE id = ?", (reservation,))
            if self.settings.ledger.store_prompts and (prompt is not None or response is not None):
                conn.execute(
                    "INSERT INTO prompts (request_id, seq, prompt, response) VALUES (?, ?, ?, ?)",
                    (request_id, seq, None if prompt is None else scrub(prompt, None),
                     None if response is None else scrub(response, None)),
                )
        return seq

    def finish_request(
        self,
        request_id: str,
        *,
        outcome: str,
        cost_usd: float | None,
        premium_cost_usd: float | None,
        latency_ms: float,
        answered_by: tuple[str, str, str] | None = None,
        now: datetime | None = None,
    ) -> None:
        """Close a request with its outcome, total cost, premium-equivalent cost and latency.

        ``answered_by`` is the (provider, model, tier) of the attempt whose answer was accepted,
        if any: a request is attributed to that model only."""
        if outcome not in OUTCOMES:
            raise LedgerError(f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
        moment = self._aware(now)
        label = model = None
        if answered_by is not None:
            label, model = self.label_for(*answered_by), answered_by[1]
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE requests SET outcome = ?, finished_ts = ?, cost_usd = ?, "
                "premium_cost_usd = ?, latency_ms = ?, answered_by = ?, answered_model = ? "
                "WHERE id = ?",
                (outcome, moment.timestamp(), cost_usd, premium_cost_usd, latency_ms, label,
                 model, request_id),
            )
            if cur.rowcount == 0:
                raise LedgerError(f"no request {request_id} in the ledger")

    def resolve_id(self, request_id: str) -> str:
        """The full id for ``request_id`` or a unique prefix of at least six characters."""
        wanted = request_id.strip()
        with self.reading() as db:
            if db.execute("SELECT 1 FROM requests WHERE id = ?", (wanted,)).fetchone():
                return wanted
            if len(wanted) >= MIN_PREFIX and re.fullmatch(r"[A-Za-z0-9_\-]+", wanted):
                rows = db.execute(
                    "SELECT id FROM requests WHERE SUBSTR(id, 1, ?) = ? LIMIT 2",
                    (len(wanted), wanted),
                ).fetchall()
                if len(rows) == 1:
                    return str(rows[0][0])
                if len(rows) > 1:
                    raise LedgerError(f"request id prefix {wanted!r} is ambiguous; give more of it")
        raise LedgerError(f"no request {wanted!r} in the ledger (see `agentic-optimizer ledger export --csv`)")

    def feedback(
        self,
        request_id: str,
        *,
        rating: int | None = None,
        rejected: bool = False,
        now: datetime | None = None,
    ) -> str:
        """Attach a rating (1..5) and/or a rejection to a request; returns the full request id.

        A rejection may come later, e.g. when an accepted edit is undone in the editor.
        """
        if rating is None and not rejected:
            raise LedgerError("feedback needs a rating (1 to 5) or a rejection")
        if rating is not None and (isinstance(rating, bool) or rating not in range(1, 6)):
            raise LedgerError(f"rating {rating!r}: expected a whole number from 1 to 5")
        rid = self.resolve_id(request_id)
        moment = self._aware(now)
        with self._write() as conn:
            conn.execute(
                "UPDATE requests SET rating = COALESCE(?, rating), "
                "rejected = CASE WHEN ? = 1 THEN 1 ELSE rejected END, "
                "feedback_ts = ? WHERE id = ?",
                (rating, 1 if rejected else 0, moment.timestamp(), rid),
            )
        return rid

    # -- reading ---------------------------------------------------------------------------

    def spent_on(self, day: date) -> tuple[float, int]:
        """USD spent on ``day`` (priced attempts) and the number of unpriced attempts: this
        machine's ledger's, or in a shared ledger this user's."""
        with self.reading() as db:
            if self.shared:
                row = db.execute(
                    "SELECT cost_usd, unpriced FROM user_spend WHERE day = ? AND user_name = ?",
                    (day.isoformat(), self.user)).fetchone()
            else:
                row = db.execute(
                    "SELECT cost_usd, unpriced FROM daily_spend WHERE day = ?",
                    (day.isoformat(),)).fetchone()
        return (float(row[0]), int(row[1])) if row else (0.0, 0)

    def spent_today(self, now: datetime | None = None) -> float:
        """USD spent today, in-flight requests included (one indexed row: cheap enough per call)."""
        return self.spent_on(self.today(now))[0]

    def day_totals(self, day: date | None = None) -> dict[str, float | int]:
        """Requests, spend, premium-equivalent and savings for one day (default today; on a
        shared ledger this user's): a status bar's figures from one pass over the day's index entries, cheaper than :meth:`summary`.
        Savings and avoided calls follow the one savings policy (:mod:`lsp_server.ledger.savings`):
        ``premium_usd`` is the premium equivalent of the accepted answers that earned savings."""
        wanted = (day or self.today()).isoformat()
        mine, params = ("", (wanted,)) if not self.shared else (" AND user_name = ?",
                                                                (wanted, self.user))
        with self.reading() as db:
            row = db.execute(
                f"SELECT COUNT(*), TOTAL({EARNED_PREMIUM_SQL}),"
                f" TOTAL({SAVED_SQL}), TOTAL({AVOIDED_SQL}) FROM requests WHERE day = ?{mine}",
                params,
            ).fetchone()
        spent, unpriced = self.spent_on(date.fromisoformat(wanted))
        return {"requests": int(row[0]), "spent_usd": spent, "unpriced_calls": unpriced,
                "premium_usd": float(row[1]), "saved_usd": float(row[2]),
                "avoided_usd": float(row[3])}

    def call_speeds(self, provider: str, limit: int = 20) -> list[CallTiming]:
        """The latest ``limit`` calls of the configured model ``provider`` that reached it
        (no error, no cache hit: some input tokens), newest first, for learning its speed."""
        with self.reading() as db:
            rows = db.execute(
                "SELECT input_tokens, output_tokens, latency_ms, first_token_ms FROM attempts "
                "WHERE provider = ? AND error_class IS NULL AND input_tokens > 0 "
                "ORDER BY ts DESC LIMIT ?", (provider, int(limit))).fetchall()
        return [CallTiming(int(r[0]), int(r[1]), float(r[2]),
                           None if r[3] is None else float(r[3])) for r in rows]

    def request(self, request_id: str) -> dict[str, Any] | None:
        """One request row as a dict, with its attempts under ``attempts``."""
        with self.reading() as db:
            found = rows_as_dicts(db.execute("SELECT * FROM requests WHERE id = ?", (request_id,)))
            if not found:
                return None
            result = found[0]
            result["attempts"] = rows_as_dicts(db.execute(
                "SELECT * FROM attempts WHERE request_id = ? ORDER BY seq", (request_id,)))
            result["prompts"] = rows_as_dicts(db.execute(
                "SELECT seq, prompt, response FROM prompts WHERE request_id = ? ORDER BY seq",
                (request_id,)))
        return result

    def summary(
        self,
        since: date | datetime | str | None = None,
        until: date | datetime | str | None = None,
        by: str = "provider",
        *,
        team: bool = False,
    ) -> Report:
        """Totals, cost groups, latency percentiles and daily spend for the days since..until:
        on a shared ledger this user's rows, or the whole team's with ``team``."""
        from lsp_server.ledger.reports import build_report

        last = as_date(until) if until is not None else self.today()
        first = as_date(since) if since is not None else last
        user = None if team or not self.shared else self.user
        with self.reading() as db:
            report = build_report(db, first, last, by, user)
        if self.shared:
            team_name = self.settings.ledger.team
            scope = f"team {team_name}" if user is None else f"user {user}, team {team_name}"
            report = dataclasses.replace(report, scope=scope)
        return report

    def compare(
        self,
        a: str,
        b: str,
        since: date | datetime | str | None = None,
        until: date | datetime | str | None = None,
    ) -> Comparison:
        """Variant ``a`` against variant ``b``: cost, success, latency, feedback and significance."""
        from lsp_server.ledger.compare import build_comparison

        first = as_date(since) if since is not None else None
        last = as_date(until) if until is not None else None
        with self.reading() as db:
            return build_comparison(db, a, b, first, last)

    def export_csv(
        self,
        out: TextIO,
        since: date | datetime | str | None = None,
        until: date | datetime | str | None = None,
        *,
        attempts: bool = False,
    ) -> int:
        """Write requests (or attempts) as CSV; returns the number of data rows."""
        from lsp_server.ledger.export import write_csv

        first = as_date(since) if since is not None else None
        last = as_date(until) if until is not None else None
        with self.reading() as db:
            return write_csv(db, out, first, last, attempts=attempts)

