"""The ledger: every request and model attempt priced and recorded in SQLite (or, for a team,
in a shared PostgreSQL database), and the reports (``metrics``), feedback, A/B variant
comparisons and team budget built on it."""

from __future__ import annotations

from lsp_server.ledger.labels import provider_label
from lsp_server.ledger.prices import PriceBook
from lsp_server.ledger.store import OUTCOMES, Ledger
from lsp_server.ledger.variants import assign_variant

__all__ = ["OUTCOMES", "Ledger", "PriceBook", "assign_variant", "provider_label"]
