"""A tiny inventory package used by the Agentic Optimizer docs and tests."""

from inventory.models import Item, Stock
from inventory.pricing import total_value

__all__ = ["Item", "Stock", "total_value"]
