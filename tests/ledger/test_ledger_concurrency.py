"""Two processes (two editor windows) writing the same ledger at once lose no row."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lsp_server.ledger.store import Ledger

WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from lsp_server.ledger.store import Ledger
    from lsp_server.providers.base import Usage

    path, tag, count, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    ledger = Ledger.open(path)
    while not go.exists():
        time.sleep(0.005)
    for i in range(count):
        rid = ledger.start_request(kind="edit", workspace=tag, classification="c", reasons=[tag],
                                   request_id=f"{tag}-{i}")
        for tier in ("local", "premium"):
            ledger.record_attempt(rid, provider=tag, model="m", tier=tier, usage=Usage(10, 2),
                                  cost_usd=0.001, latency_ms=1.0, confidence=0.5, error_class=None)
        ledger.finish_request(rid, outcome="accepted", cost_usd=0.002, premium_cost_usd=0.01,
                              latency_ms=2.0)
        ledger.spent_today()
    ledger.close()
    print("done", tag)
""")


@pytest.mark.parametrize("fresh", [True, False])
def test_two_processes_write_at_once(tmp_path: Path, fresh: bool) -> None:
    path = tmp_path / "ledger.sqlite3"
    if not fresh:  # also race on an existing file, not only on its creation and migration
        Ledger.open(path).close()
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    go = tmp_path / "go"
    count = 250
    procs = [
        subprocess.Popen([sys.executable, str(script), str(path), tag, str(count), str(go)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for tag in ("win1", "win2")
    ]
    time.sleep(0.3)
    go.touch()
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.startswith("done")
    with Ledger.open(path) as led:
        conn = led.connection
        assert conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0] == 2 * count
        assert conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 4 * count
        per_window = dict(conn.execute("SELECT workspace, COUNT(*) FROM requests GROUP BY workspace"))
        assert per_window == {"win1": count, "win2": count}
        assert conn.execute(
            "SELECT COUNT(*) FROM requests WHERE outcome = 'accepted' AND attempt_count = 2"
        ).fetchone()[0] == 2 * count
        # the per-day spend table was updated by both writers without losing an increment
        total = conn.execute("SELECT SUM(cost_usd) FROM daily_spend").fetchone()[0]
        assert total == pytest.approx(4 * count * 0.001)
