"""Items and the stock that holds them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Item:
    sku: str
    name: str
    unit_price: float


@dataclass
class Stock:
    """Quantities on hand, by SKU."""

    items: dict[str, Item] = field(default_factory=dict)
    quantities: dict[str, int] = field(default_factory=dict)

    def add(self, item: Item, quantity: int) -> None:
        if quantity < 0:
            raise ValueError("quantity must not be negative")
        self.items[item.sku] = item
        self.quantities[item.sku] = self.quantities.get(item.sku, 0) + quantity

    def remove(self, sku: str, quantity: int) -> None:
        have = self.quantities.get(sku, 0)
        if quantity > have:
            raise ValueError(f"only {have} of {sku} in stock")
        self.quantities[sku] = have - quantity
