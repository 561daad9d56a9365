"""One server's traffic against a shared ledger, run as its own process by the team tests:
``python team_worker.py URL USER CALLS ESTIMATE CAP``. Each call reserves ``ESTIMATE`` against
the team cap ``CAP`` and, when reserved, records an attempt whose real cost is up to 10% off
the estimate (seeded by USER); prints one JSON line: calls made, refused, and their cost."""

from __future__ import annotations

import json
import random
import sys

from lsp_server.config import parse_settings
from lsp_server.ledger.reservations import reserve
from lsp_server.ledger.store import Ledger
from lsp_server.providers.base import Usage


def main(url: str, user: str, calls: int, estimate: float, cap: float) -> None:
    settings = parse_settings({"ledger": {"url": url, "team": "core", "user": user}})
    rng = random.Random(user)
    made = refused = 0
    spent = 0.0
    with Ledger.open(settings=settings) as ledger:
        for i in range(calls):
            rid = f"{user}-{i}"
            key = f"{rid}/m"
            ok, _total = reserve(ledger, key, estimate, cap)
            if not ok:
                refused += 1
                continue
            ledger.start_request(kind="ask", workspace="/w", classification="x", request_id=rid)
            cost = estimate * rng.uniform(0.9, 1.1)
            ledger.record_attempt(rid, provider="m", model="m", tier="premium",
                                  usage=Usage(100, 10), cost_usd=cost, latency_ms=1.0,
                                  confidence=0.9, error_class=None, reservation=key,
                                  row_key=key)
            made += 1
            spent += cost
    print(json.dumps({"made": made, "refused": refused, "spent": spent}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
