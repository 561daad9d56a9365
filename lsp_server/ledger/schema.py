"""The ledger's schema, as the ordered list of migrations that builds it.

``PRAGMA user_version`` holds the number of migrations applied. Opening a ledger applies the
missing ones inside one ``BEGIN IMMEDIATE`` transaction, so two processes opening an old file at
once migrate it exactly once. Migrations are never edited after release; a change is a new one.

History:

1. requests and attempts (tokens, cost, latency, confidence, outcome, feedback);
2. per-attempt report labels, per-request answer summary (who answered, how many attempts) so
   reports read one table, a per-day spend table for the budget check, feedback time, and the
   opt-in prompts table (``ledger.store_prompts``);
3. covering indexes, so a report over a busy day reads indexes only, not the tables;
4. honest accounting: each attempt's ``cost_status`` (measured, estimated, unknown; rows written
   before it are marked as they were reported, ``measured``), whether a higher tier existed
   when the request started (``higher_tier``; NULL for older rows: not known), and
   ``answered_by`` kept only for requests with an accepted answer (older versions wrote the
   last attempt's model there, failures included); the covering indexes gain both columns;
5. teams: who made each row (``user_name``, ``machine``), a per-user day spend (``user_spend``:
   in a shared ledger ``daily_spend`` is the whole team's), an idempotency key per attempt
   (``row_key``, so a replayed row is never written twice), and team budget reservations;
6. local speed: each attempt's time to its first streamed token (``first_token_ms``, NULL when
   none came or the call was not streamed) and why the router stopped it early (``stopped``,
   NULL when it ran to its end), from which a local model's prompt speed is learned
   (:meth:`~lsp_server.ledger.store.Ledger.call_speeds`), and an index to read a model's
   latest attempts by;
7. tool calls: each attempt's tool calls (``tool_calls``: a JSON list of ``{"name", "args",
   "ok"}``, the arguments a bounded summary; NULL when it made none) and their number
   (``tool_call_count``, 0 for rows written before: their calls were not recorded); the
   report's covering index gains the count.

The same list builds both back ends: :func:`render` turns a statement into PostgreSQL's dialect
(``REAL`` is ``DOUBLE PRECISION`` there, since times are epoch seconds), and a migration's
``postgresql`` statements run only there (the ``total`` aggregate SQLite has built in, and the
shared response cache). A PostgreSQL ledger keeps its version in ``ao_schema`` instead of
``PRAGMA user_version``, and migrates under an advisory lock (:func:`migrate_postgres`).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsp_server.errors import LedgerError

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: Sequence[str]
    postgresql: Sequence[str] = ()  # run after ``statements``, by the PostgreSQL back end only


# The response cache's table: in a team's shared ledger (migration 5) and, alone, in this
# machine's cache file (lsp_server.routing.cache), with the same columns so the same SQL runs.
RESPONSES_TABLE = """CREATE TABLE responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    created REAL NOT NULL,
    last_used REAL NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0,
    text TEXT NOT NULL,
    usage TEXT NOT NULL,
    stop_reason TEXT
)"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "requests and attempts", (
        """CREATE TABLE requests (
            id TEXT PRIMARY KEY,
            ts REAL NOT NULL,
            day TEXT NOT NULL,
            workspace TEXT NOT NULL,
            kind TEXT NOT NULL,
            classification TEXT NOT NULL,
            reasons TEXT NOT NULL DEFAULT '[]',
            variant TEXT,
            outcome TEXT,
            finished_ts REAL,
            cost_usd REAL,
            premium_cost_usd REAL,
            latency_ms REAL,
            rating INTEGER,
            rejected INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE attempts (
            request_id TEXT NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            ts REAL NOT NULL,
            day TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            tier TEXT NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cache_read_tokens INTEGER NOT NULL,
            cache_write_tokens INTEGER NOT NULL,
            cost_usd REAL,
            latency_ms REAL NOT NULL,
            confidence REAL,
            error_class TEXT,
            reasons TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (request_id, seq)
        )""",
        "CREATE INDEX requests_day ON requests(day)",
    ), postgresql=(
        # SQLite's TOTAL(): a float sum that is 0.0 over no rows; the reports use it
        "CREATE AGGREGATE total(double precision) (SFUNC = float8pl, STYPE = float8, "
        "INITCOND = '0')",
    )),
    Migration(2, "labels, answer summary, daily spend, prompts", (
        "ALTER TABLE attempts ADD COLUMN label TEXT NOT NULL DEFAULT ''",
        "UPDATE attempts SET label = CASE WHEN tier = 'local' OR provider = 'ollama' "
        "THEN 'Local' ELSE model END",
        "CREATE INDEX attempts_day ON attempts(day)",
        "ALTER TABLE requests ADD COLUMN answered_by TEXT",
        "ALTER TABLE requests ADD COLUMN answered_model TEXT",
        "ALTER TABLE requests ADD COLUMN attempt_count INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE requests ADD COLUMN feedback_ts REAL",
        """UPDATE requests SET
            attempt_count = (SELECT COUNT(*) FROM attempts a WHERE a.request_id = requests.id),
            answered_by = (SELECT label FROM attempts a WHERE a.request_id = requests.id
                           ORDER BY seq DESC LIMIT 1),
            answered_model = (SELECT model FROM attempts a WHERE a.request_id = requests.id
                              ORDER BY seq DESC LIMIT 1)""",
        """CREATE TABLE daily_spend (
            day TEXT PRIMARY KEY,
            cost_usd REAL NOT NULL DEFAULT 0,
            unpriced INTEGER NOT NULL DEFAULT 0
        )""",
        """INSERT INTO daily_spend (day, cost_usd, unpriced)
           SELECT day, COALESCE(SUM(cost_usd), 0), COUNT(*) - COUNT(cost_usd)
           FROM attempts GROUP BY day""",
        """CREATE TABLE prompts (
            request_id TEXT NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            prompt TEXT,
            response TEXT,
            PRIMARY KEY (request_id, seq)
        )""",
    )),
    Migration(3, "covering indexes for reports", (
        "DROP INDEX requests_day",
        "CREATE INDEX requests_report ON requests(day, outcome, rejected, attempt_count, "
        "answered_by, cost_usd, premium_cost_usd, rating, latency_ms)",
        "DROP INDEX attempts_day",
        "CREATE INDEX attempts_report ON attempts(day, label, cost_usd)",
    )),
    Migration(4, "cost status, higher tier, answered_by of accepted answers only", (
        "ALTER TABLE attempts ADD COLUMN cost_status TEXT NOT NULL DEFAULT 'measured'",
        "ALTER TABLE requests ADD COLUMN higher_tier INTEGER",
        "UPDATE requests SET answered_by = NULL, answered_model = NULL"
        " WHERE outcome IS NULL OR outcome NOT IN ('accepted', 'cache_hit')",
        "DROP INDEX requests_report",
        "CREATE INDEX requests_report ON requests(day, outcome, rejected, attempt_count, "
        "higher_tier, answered_by, cost_usd, premium_cost_usd, rating, latency_ms)",
        "DROP INDEX attempts_report",
        "CREATE INDEX attempts_report ON attempts(day, label, cost_status, cost_usd)",
    )),
    Migration(5, "users, machines, per-user spend, row keys, team budget reservations", (
        "ALTER TABLE requests ADD COLUMN user_name TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE requests ADD COLUMN machine TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE attempts ADD COLUMN user_name TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE attempts ADD COLUMN row_key TEXT",
        "CREATE UNIQUE INDEX attempts_row_key ON attempts(row_key)",
        "CREATE INDEX requests_user ON requests(day, user_name)",
        """CREATE TABLE user_spend (
            day TEXT NOT NULL,
            user_name TEXT NOT NULL,
            cost_usd REAL NOT NULL DEFAULT 0,
            unpriced INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (day, user_name)
        )""",
        """INSERT INTO user_spend (day, user_name, cost_usd, unpriced)
           SELECT day, user_name, COALESCE(SUM(cost_usd), 0), COUNT(*) - COUNT(cost_usd)
           FROM attempts GROUP BY day, user_name""",
        """CREATE TABLE reservations (
            id TEXT PRIMARY KEY,
            day TEXT NOT NULL,
            user_name TEXT NOT NULL,
            amount_usd REAL NOT NULL,
            expires REAL NOT NULL
        )""",
        "CREATE INDEX reservations_day ON reservations(day, expires)",
    ), postgresql=(
        RESPONSES_TABLE,
        "CREATE INDEX responses_last_used ON responses(last_used)",
    )),
    Migration(6, "first token time and early stop per attempt", (
        "ALTER TABLE attempts ADD COLUMN first_token_ms REAL",
        "ALTER TABLE attempts ADD COLUMN stopped TEXT",
        "CREATE INDEX attempts_model_ts ON attempts(provider, ts)",
    )),
    Migration(7, "tool calls per attempt", (
        "ALTER TABLE attempts ADD COLUMN tool_calls TEXT",
        "ALTER TABLE attempts ADD COLUMN tool_call_count INTEGER NOT NULL DEFAULT 0",
        # Reports sum the count per day and label: the covering index gains it.
        "DROP INDEX attempts_report",
        "CREATE INDEX attempts_report ON attempts(day, label, cost_status, cost_usd, "
        "tool_call_count)",
    )),
)
LATEST = MIGRATIONS[-1].version
_REAL = re.compile(r"\bREAL\b")


def render(statement: str, dialect: str) -> str:
    """``statement`` in ``dialect`` (``sqlite`` or ``postgresql``)."""
    return _REAL.sub("DOUBLE PRECISION", statement) if dialect == "postgresql" else statement


def statements(migration: Migration, dialect: str) -> list[str]:
    """What applying ``migration`` runs in ``dialect``."""
    extra = migration.postgresql if dialect == "postgresql" else ()
    return [render(s, dialect) for s in (*migration.statements, *extra)]


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection, target: int = LATEST) -> int:
    """Apply the missing migrations up to ``target`` in one immediate transaction.

    ``conn`` must be in autocommit mode (``isolation_level=None``). Returns the version reached.
    A file written by a newer version is refused rather than modified.
    """
    if schema_version(conn) == target:
        return target
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = schema_version(conn)  # re-read under the write lock: another process may have won
        if current > LATEST:
            raise LedgerError(
                f"the ledger has schema version {current}, newer than this version of "
                f"agentic-optimizer understands ({LATEST}); upgrade agentic-optimizer"
            )
        for migration in MIGRATIONS:
            if current < migration.version <= target:
                for statement in statements(migration, "sqlite"):
                    conn.execute(statement)
                current = migration.version
        conn.execute(f"PRAGMA user_version = {int(current)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return current


def migrate_postgres(conn: psycopg.Connection[Any], schema: str, target: int = LATEST) -> int:
    """Create ``schema`` if needed and apply the missing migrations there, in one transaction
    under an advisory lock on the schema's name, so servers starting at once migrate it once.
    ``schema`` must already be a quoted identifier. Returns the version reached."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (schema,))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.execute(f"SET LOCAL search_path TO {schema}")
        conn.execute("CREATE TABLE IF NOT EXISTS ao_schema (version INTEGER NOT NULL)")
        row = conn.execute("SELECT MAX(version) FROM ao_schema").fetchone()
        current = int(row[0]) if row and row[0] is not None else 0
        if current > LATEST:
            raise LedgerError(
                f"the shared ledger has schema version {current}, newer than this version of "
                f"agentic-optimizer understands ({LATEST}); upgrade agentic-optimizer"
            )
        for migration in MIGRATIONS:
            if current < migration.version <= target:
                for statement in statements(migration, "postgresql"):
                    conn.execute(statement.encode())  # no parameters: a '%' is the SQL's own
                current = migration.version
        conn.execute("DELETE FROM ao_schema")
        conn.execute("INSERT INTO ao_schema (version) VALUES (%s)", (current,))
    return current
