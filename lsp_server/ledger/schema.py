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
   last attempt's model there, failures included); the covering indexes gain both columns.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from lsp_server.errors import LedgerError


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: Sequence[str]


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
)
LATEST = MIGRATIONS[-1].version


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
                for statement in migration.statements:
                    conn.execute(statement)
                current = migration.version
        conn.execute(f"PRAGMA user_version = {int(current)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return current
