"""The SQLite store: round trips, errors for unknown ids, feedback, budget reads, privacy."""

from __future__ import annotations

import sqlite3
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from ledger_seed import DAY, GROQ, LOCAL, SONNET, add

from lsp_server.config import Settings, SettingsSource, parse_settings
from lsp_server.errors import LedgerError
from lsp_server.ledger.schema import LATEST
from lsp_server.ledger.store import Ledger
from lsp_server.paths import state_dir
from lsp_server.providers.base import Usage


def test_request_and_attempts_round_trip(ledger: Ledger) -> None:
    rid = ledger.start_request(kind="edit", workspace="/repo", classification="complex",
                               reasons=["long instruction", "3 files"], variant="A", now=DAY)
    usage = Usage(input=12_000, output=800, cache_read=9_000, cache_write=1_000)
    assert ledger.record_attempt(rid, provider="local-coder", model="qwen2.5-coder:7b", tier="local",
                                 usage=usage, cost_usd=0.0, latency_ms=900.0, confidence=0.4,
                                 error_class=None, reasons=["anchor matched twice"], now=DAY) == 1
    assert ledger.record_attempt(rid, provider="sonnet", model="claude-sonnet-4-5", tier="premium",
                                 usage=usage, cost_usd=0.0123, latency_ms=2500.0, confidence=0.95,
                                 error_class=None, now=DAY) == 2
    ledger.finish_request(rid, outcome="accepted", cost_usd=0.0123, premium_cost_usd=0.0123,
                          latency_ms=3500.0, now=DAY + timedelta(seconds=4),
                          answered_by=("sonnet", "claude-sonnet-4-5", "premium"))
    row = ledger.request(rid)
    assert row is not None
    assert (row["kind"], row["workspace"], row["classification"], row["variant"]) == (
        "edit", "/repo", "complex", "A")
    assert row["outcome"] == "accepted" and row["attempt_count"] == 2
    assert (row["answered_by"], row["answered_model"]) == ("Anthropic", "claude-sonnet-4-5")
    assert row["day"] == "2025-10-15"
    first, second = row["attempts"]
    assert (first["label"], first["tier"], first["confidence"]) == ("Local", "local", 0.4)
    assert (first["input_tokens"], first["output_tokens"], first["cache_read_tokens"],
            first["cache_write_tokens"]) == (12_000, 800, 9_000, 1_000)
    assert second["cost_usd"] == pytest.approx(0.0123)
    assert (first["cost_status"], second["cost_status"]) == ("measured", "measured")
    assert row["prompts"] == []


def test_a_request_is_attributed_to_its_accepted_attempt_only(ledger: Ledger) -> None:
    """A failed cloud attempt does not make a request "answered by" that cloud model: only the
    accepted attempt names who answered, and a request with none is answered by no model."""
    def attempt(rid: str, name: str, model: str, tier: str, error: str | None) -> None:
        ledger.record_attempt(rid, provider=name, model=model, tier=tier, usage=Usage(),
                              cost_usd=0.0, latency_ms=1.0, confidence=None, error_class=error)

    failed = ledger.start_request(kind="ask", workspace="/w", classification="c", reasons=[])
    attempt(failed, "local-coder", "qwen2.5-coder:7b", "local", None)
    attempt(failed, "sonnet", "claude-sonnet-4-5", "premium", "RetryableProviderError: 503")
    ledger.finish_request(failed, outcome="rejected", cost_usd=0.0, premium_cost_usd=None,
                          latency_ms=5.0)
    won = ledger.start_request(kind="ask", workspace="/w", classification="c", reasons=[])
    attempt(won, "local-coder", "qwen2.5-coder:7b", "local", None)
    attempt(won, "sonnet", "claude-sonnet-4-5", "premium", "RetryableProviderError: 503")
    ledger.finish_request(won, outcome="accepted", cost_usd=0.0, premium_cost_usd=0.01,
                          latency_ms=5.0, answered_by=("local-coder", "qwen2.5-coder:7b", "local"))
    failed_row, won_row = ledger.request(failed), ledger.request(won)
    assert failed_row is not None and won_row is not None
    assert (failed_row["answered_by"], failed_row["answered_model"]) == (None, None)
    assert (won_row["answered_by"], won_row["answered_model"]) == ("Local", "qwen2.5-coder:7b")


def test_an_attempt_of_unknown_cost_is_stored_without_a_cost(ledger: Ledger) -> None:
    rid = ledger.start_request(kind="ask", workspace="/w", classification="c", reasons=[])
    ledger.record_attempt(rid, provider="sonnet", model="claude-sonnet-4-5", tier="premium",
                          usage=Usage(), cost_usd=0.0, latency_ms=30_000.0, confidence=None,
                          error_class="ProviderTimeoutError", cost_status="unknown")
    ledger.record_attempt(rid, provider="sonnet", model="claude-sonnet-4-5", tier="premium",
                          usage=Usage(input=100, output=10), cost_usd=0.001, latency_ms=9.0,
                          confidence=0.9, error_class=None, cost_status="estimated")
    row = ledger.request(rid)
    assert row is not None
    timeout, estimated = row["attempts"]
    assert (timeout["cost_status"], timeout["cost_usd"]) == ("unknown", None)
    assert (estimated["cost_status"], estimated["cost_usd"]) == ("estimated", 0.001)
    with pytest.raises(LedgerError, match="cost status"):
        ledger.record_attempt(rid, provider="x", model="y", tier="free", usage=Usage(),
                              cost_usd=0.0, latency_ms=1.0, confidence=None, error_class=None,
                              cost_status="guessed")


def test_generated_ids_are_unique(ledger: Ledger) -> None:
    ids = {ledger.start_request(kind="ask", workspace="/w", classification="c", reasons=[])
           for _ in range(200)}
    assert len(ids) == 200


def test_duplicate_id_is_refused(ledger: Ledger) -> None:
    ledger.start_request(kind="ask", workspace="/w", classification="c", reasons=[], request_id="abc")
    with pytest.raises(LedgerError, match="already"):
        ledger.start_request(kind="ask", workspace="/w", classification="c", reasons=[],
                             request_id="abc")


def test_unknown_request_ids_are_clear_errors(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="no request nope"):
        ledger.record_attempt("nope", provider="x", model="m", tier="free", usage=Usage(),
                              cost_usd=0.0, latency_ms=1, confidence=None, error_class=None)
    with pytest.raises(LedgerError, match="no request nope"):
        ledger.finish_request("nope", outcome="accepted", cost_usd=0, premium_cost_usd=0, latency_ms=1)
    with pytest.raises(LedgerError, match="no request 'nope'"):
        ledger.feedback("nope", rating=3)
    # nothing was written by the failed calls
    assert ledger.connection.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 0
    assert ledger.spent_today() == 0.0


def test_outcome_must_be_known(ledger: Ledger) -> None:
    rid = ledger.start_request(kind="ask", workspace="/w", classification="c", reasons=[])
    with pytest.raises(LedgerError, match="outcome 'great'"):
        ledger.finish_request(rid, outcome="great", cost_usd=0, premium_cost_usd=0, latency_ms=1)


def test_feedback_rating_reject_and_prefix(ledger: Ledger) -> None:
    rid = add(ledger, DAY, [(*LOCAL, 100)], "accepted", latency_ms=100)
    assert ledger.feedback(rid[:8], rating=4) == rid
    row = ledger.request(rid)
    assert row is not None and (row["rating"], row["rejected"]) == (4, 0)
    # later: the accepted edit was undone in the editor
    ledger.feedback(rid, rejected=True)
    row = ledger.request(rid)
    assert row is not None and (row["rating"], row["rejected"]) == (4, 1)
    assert row["feedback_ts"] is not None
    report = ledger.summary(DAY.date(), DAY.date())
    assert (report.successes, report.decided, report.rejections) == (0, 1, 1)


def test_feedback_validation(ledger: Ledger) -> None:
    rid = add(ledger, DAY, [], "index", latency_ms=1)
    with pytest.raises(LedgerError, match="1 to 5"):
        ledger.feedback(rid, rating=6)
    with pytest.raises(LedgerError, match="needs a rating"):
        ledger.feedback(rid)
    with pytest.raises(LedgerError, match="no request"):
        ledger.feedback(rid[:3], rating=2)  # too short to be a prefix


def test_ambiguous_prefix(ledger: Ledger) -> None:
    for suffix in ("1", "2"):
        ledger.start_request(kind="ask", workspace="/w", classification="c", reasons=[],
                             request_id=f"abcdef{suffix}")
    with pytest.raises(LedgerError, match="ambiguous"):
        ledger.feedback("abcdef", rating=5)


def test_spent_today_counts_in_flight_attempts(ledger: Ledger) -> None:
    rid = ledger.start_request(kind="edit", workspace="/w", classification="c", reasons=[], now=DAY)
    ledger.record_attempt(rid, provider="sonnet", model="claude-sonnet-4-5", tier="premium",
                          usage=Usage(input=10, output=10), cost_usd=0.25, latency_ms=1,
                          confidence=None, error_class="RateLimitedError", now=DAY)
    assert ledger.spent_today(DAY) == pytest.approx(0.25)  # not finished yet, but paid for
    add(ledger, DAY, [(*GROQ, 10), ("mystery", "mystery-1", "budget", None, 10)], "accepted",
        latency_ms=20)
    assert ledger.spent_today(DAY) == pytest.approx(0.252)
    assert ledger.spent_on(DAY.date()) == (pytest.approx(0.252), 1)
    assert ledger.spent_today(DAY + timedelta(days=1)) == 0.0
    add(ledger, DAY + timedelta(days=1), [(*SONNET, 10)], "accepted", latency_ms=10)
    assert ledger.spent_today(DAY + timedelta(days=1)) == pytest.approx(0.05)


def _all_bytes(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in directory.iterdir() if p.is_file())


@pytest.mark.parametrize("store", [False, True])
def test_prompts_are_stored_only_when_asked(tmp_path: Path, store: bool) -> None:
    settings = parse_settings({"ledger": {"store_prompts": store}})
    secret_prompt = "PROMPT-TEXT-fn-main-uniquemarker"
    with Ledger.open(tmp_path / "l.sqlite3", settings) as led:
        rid = led.start_request(kind="ask", workspace="/w", classification="c",
                                reasons=["key sk-abcdefghijklmnopqrstuvwx in text"])
        led.record_attempt(rid, provider="p", model="m", tier="free", usage=Usage(1, 1),
                           cost_usd=0.0, latency_ms=1, confidence=None, error_class=None,
                           prompt=secret_prompt, response="RESPONSE-uniquemarker")
        row = led.request(rid)
        assert row is not None
        assert "sk-abcdefghijklmnop" not in row["reasons"] and "[redacted]" in row["reasons"]
        if store:
            assert row["prompts"] == [{"seq": 1, "prompt": secret_prompt,
                                       "response": "RESPONSE-uniquemarker"}]
        else:
            assert row["prompts"] == []
    raw = _all_bytes(tmp_path)
    assert (secret_prompt.encode() in raw) is store
    assert b"sk-abcdefghijklmnop" not in raw


def test_wal_mode_and_busy_timeout(ledger: Ledger) -> None:
    conn = ledger.connection
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST


def test_default_path_is_in_the_state_dir() -> None:
    settings = Settings()
    with Ledger.open(settings=settings) as led:
        assert led.path == state_dir(settings) / "ledger.sqlite3"
        assert led.path.is_file()


def test_not_a_database_is_copied_aside_and_started_again(tmp_path: Path) -> None:
    bad = tmp_path / "ledger.sqlite3"
    bad.write_bytes(b"this is not sqlite" * 100)
    with Ledger.open(bad) as ledger:
        assert ledger.rebuilt is not None and "copied to" in ledger.rebuilt
        assert ledger.summary().requests == 0
    (aside,) = tmp_path.glob("ledger.sqlite3.damaged-*")
    assert aside.read_bytes() == b"this is not sqlite" * 100


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE requests (id TEXT)")
    conn.execute(f"PRAGMA user_version = {LATEST + 5}")
    conn.commit()
    conn.close()
    with pytest.raises(LedgerError, match="newer than this version"):
        Ledger.open(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST + 5
    conn.close()


def test_labels_for_models_not_in_settings(tmp_path: Path) -> None:
    from lsp_server.ledger.labels import provider_label
    from lsp_server.providers.discovery import DEFAULT_MODELS

    with Ledger.open(tmp_path / "l.sqlite3", tz=UTC) as led:  # no models configured: defaults
        for m in DEFAULT_MODELS:
            assert led.label_for(m.name, m.model, m.tier) == provider_label(m)
        assert led.label_for("anthropic", "claude-imaginary", "budget") == "Anthropic"
        assert led.label_for("whatever", "some-model", "local") == "Local"
        assert led.label_for("custom", "some-model", "budget") == "some-model"


@pytest.mark.parametrize("starved", [False, True])
def test_sustained_writes_keep_the_wal_bounded(tmp_path: Path, starved: bool,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    if starved:  # the background checkpoint never runs (a busy machine): still bounded
        from lsp_server.ledger import sqlite_file

        monkeypatch.setattr(sqlite_file.Checkpointer, "poke", lambda self: None)
    path = tmp_path / "busy.sqlite3"
    with Ledger.open(path) as led:
        for i in range(1500):
            rid = led.start_request(kind="edit", workspace="/w", classification="c",
                                    reasons=["x" * 200])
            led.record_attempt(rid, provider="p", model="m", tier="free", usage=Usage(1, 1),
                               cost_usd=0.0, latency_ms=1, confidence=None, error_class=None)
            led.finish_request(rid, outcome="accepted", cost_usd=0.0, premium_cost_usd=0.0,
                               latency_ms=1)
            if i % 500 == 0:
                assert Path(f"{path}-wal").stat().st_size < 4 * 8 * 1024 * 1024
        assert Path(f"{path}-wal").stat().st_size < 4 * 8 * 1024 * 1024
        assert led.connection.execute("SELECT COUNT(*) FROM requests").fetchone()[0] == 1500
    assert not Path(f"{path}-wal").exists()  # folded back in on close


def test_labels_follow_replaced_settings(tmp_path: Path) -> None:
    source = SettingsSource()
    with Ledger.open(tmp_path / "l.sqlite3", source) as led:
        assert led.label_for("mine", "custom-model", "budget") == "custom-model"
        source.replace(parse_settings({"models": [{
            "name": "mine", "provider": "openai", "model": "custom-model", "tier": "budget",
            "base_url": "https://api.groq.com/openai/v1"}]}))
        assert led.label_for("mine", "custom-model", "budget") == "Groq"
