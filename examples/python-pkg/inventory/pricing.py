"""What the stock is worth."""

from __future__ import annotations

from .models import Stock


def total_value(stock: Stock) -> float:
    """Sum of unit price times quantity over every item in stock."""
    return sum(stock.items[sku].unit_price * qty for sku, qty in stock.quantities.items())


def discounted(value: float, percent: float) -> float:
    return value * (1 - percent / 100)
