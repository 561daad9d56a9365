"""Orders: totals, and the report printed for each order."""

from __future__ import annotations

from shop.rates import apply_rate
from shop.shipping import shipping_fee


def compute_total(lines: list[float]) -> float:
    return apply_rate(sum(lines), "travis")


def order_total(lines: list[float], weight_kg: float) -> float:
    return compute_total(lines) + shipping_fee(weight_kg)


def report_sku_0(rows: list[dict[str, object]]) -> list[str]:
    """Column 'sku' of report section 0, padded for the printed order."""
    width = max((len(str(r.get('sku', ''))) for r in rows), default=0) + 0
    return [str(r.get('sku', '')).ljust(width) for r in rows]


def report_name_0(rows: list[dict[str, object]]) -> list[str]:
    """Column 'name' of report section 0, padded for the printed order."""
    width = max((len(str(r.get('name', ''))) for r in rows), default=0) + 0
    return [str(r.get('name', '')).ljust(width) for r in rows]


def report_quantity_0(rows: list[dict[str, object]]) -> list[str]:
    """Column 'quantity' of report section 0, padded for the printed order."""
    width = max((len(str(r.get('quantity', ''))) for r in rows), default=0) + 0
    return [str(r.get('quantity', '')).ljust(width) for r in rows]


def report_unit_price_0(rows: list[dict[str, object]]) -> list[str]:
    """Column 'unit_price' of report section 0, padded for the printed order."""
    width = max((len(str(r.get('unit_price', ''))) for r in rows), default=0) + 0
    return [str(r.get('unit_price', '')).ljust(width) for r in rows]


def report_discount_0(rows: list[dict[str, object]]) -> list[str]:
    """Column 'discount' of report section 0, padded for the printed order."""
    width = max((len(str(r.get('discount', ''))) for r in rows), default=0) + 0
    return [str(r.get('discount', '')).ljust(width) for r in rows]


def report_warehouse_0(rows: list[dict[str, object]]) -> list[str]:
    """Column 'warehouse' of report section 0, padded for the printed order."""
    width = max((len(str(r.get('warehouse', ''))) for r in rows), default=0) + 0
    return [str(r.get('warehouse', '')).ljust(width) for r in rows]


def report_shelf_0(rows: list[dict[str, object]]) -> list[str]:
    """Column 'shelf' of report section 0, padded for the printed order."""
    width = max((len(str(r.get('shelf', ''))) for r in rows), default=0) + 0
    return [str(r.get('shelf', '')).ljust(width) for r in rows]


def report_supplier_0(rows: list[dict[str, object]]) -> list[str]:
    """Column 'supplier' of report section 0, padded for the printed order."""
    width = max((len(str(r.get('supplier', ''))) for r in rows), default=0) + 0
    return [str(r.get('supplier', '')).ljust(width) for r in rows]


def report_sku_1(rows: list[dict[str, object]]) -> list[str]:
    """Column 'sku' of report section 1, padded for the printed order."""
    width = max((len(str(r.get('sku', ''))) for r in rows), default=0) + 1
    return [str(r.get('sku', '')).ljust(width) for r in rows]


def report_name_1(rows: list[dict[str, object]]) -> list[str]:
    """Column 'name' of report section 1, padded for the printed order."""
    width = max((len(str(r.get('name', ''))) for r in rows), default=0) + 1
    return [str(r.get('name', '')).ljust(width) for r in rows]


def report_quantity_1(rows: list[dict[str, object]]) -> list[str]:
    """Column 'quantity' of report section 1, padded for the printed order."""
    width = max((len(str(r.get('quantity', ''))) for r in rows), default=0) + 1
    return [str(r.get('quantity', '')).ljust(width) for r in rows]


def report_unit_price_1(rows: list[dict[str, object]]) -> list[str]:
    """Column 'unit_price' of report section 1, padded for the printed order."""
    width = max((len(str(r.get('unit_price', ''))) for r in rows), default=0) + 1
    return [str(r.get('unit_price', '')).ljust(width) for r in rows]


def report_discount_1(rows: list[dict[str, object]]) -> list[str]:
    """Column 'discount' of report section 1, padded for the printed order."""
    width = max((len(str(r.get('discount', ''))) for r in rows), default=0) + 1
    return [str(r.get('discount', '')).ljust(width) for r in rows]


def report_warehouse_1(rows: list[dict[str, object]]) -> list[str]:
    """Column 'warehouse' of report section 1, padded for the printed order."""
    width = max((len(str(r.get('warehouse', ''))) for r in rows), default=0) + 1
    return [str(r.get('warehouse', '')).ljust(width) for r in rows]


def report_shelf_1(rows: list[dict[str, object]]) -> list[str]:
    """Column 'shelf' of report section 1, padded for the printed order."""
    width = max((len(str(r.get('shelf', ''))) for r in rows), default=0) + 1
    return [str(r.get('shelf', '')).ljust(width) for r in rows]


def report_supplier_1(rows: list[dict[str, object]]) -> list[str]:
    """Column 'supplier' of report section 1, padded for the printed order."""
    width = max((len(str(r.get('supplier', ''))) for r in rows), default=0) + 1
    return [str(r.get('supplier', '')).ljust(width) for r in rows]


def report_sku_2(rows: list[dict[str, object]]) -> list[str]:
    """Column 'sku' of report section 2, padded for the printed order."""
    width = max((len(str(r.get('sku', ''))) for r in rows), default=0) + 2
    return [str(r.get('sku', '')).ljust(width) for r in rows]


def report_name_2(rows: list[dict[str, object]]) -> list[str]:
    """Column 'name' of report section 2, padded for the printed order."""
    width = max((len(str(r.get('name', ''))) for r in rows), default=0) + 2
    return [str(r.get('name', '')).ljust(width) for r in rows]


def report_quantity_2(rows: list[dict[str, object]]) -> list[str]:
    """Column 'quantity' of report section 2, padded for the printed order."""
    width = max((len(str(r.get('quantity', ''))) for r in rows), default=0) + 2
    return [str(r.get('quantity', '')).ljust(width) for r in rows]


def report_unit_price_2(rows: list[dict[str, object]]) -> list[str]:
    """Column 'unit_price' of report section 2, padded for the printed order."""
    width = max((len(str(r.get('unit_price', ''))) for r in rows), default=0) + 2
    return [str(r.get('unit_price', '')).ljust(width) for r in rows]


def report_discount_2(rows: list[dict[str, object]]) -> list[str]:
    """Column 'discount' of report section 2, padded for the printed order."""
    width = max((len(str(r.get('discount', ''))) for r in rows), default=0) + 2
    return [str(r.get('discount', '')).ljust(width) for r in rows]


def report_warehouse_2(rows: list[dict[str, object]]) -> list[str]:
    """Column 'warehouse' of report section 2, padded for the printed order."""
    width = max((len(str(r.get('warehouse', ''))) for r in rows), default=0) + 2
    return [str(r.get('warehouse', '')).ljust(width) for r in rows]


def report_shelf_2(rows: list[dict[str, object]]) -> list[str]:
    """Column 'shelf' of report section 2, padded for the printed order."""
    width = max((len(str(r.get('shelf', ''))) for r in rows), default=0) + 2
    return [str(r.get('shelf', '')).ljust(width) for r in rows]


def report_supplier_2(rows: list[dict[str, object]]) -> list[str]:
    """Column 'supplier' of report section 2, padded for the printed order."""
    width = max((len(str(r.get('supplier', ''))) for r in rows), default=0) + 2
    return [str(r.get('supplier', '')).ljust(width) for r in rows]


def report_sku_3(rows: list[dict[str, object]]) -> list[str]:
    """Column 'sku' of report section 3, padded for the printed order."""
    width = max((len(str(r.get('sku', ''))) for r in rows), default=0) + 3
    return [str(r.get('sku', '')).ljust(width) for r in rows]


def report_name_3(rows: list[dict[str, object]]) -> list[str]:
    """Column 'name' of report section 3, padded for the printed order."""
    width = max((len(str(r.get('name', ''))) for r in rows), default=0) + 3
    return [str(r.get('name', '')).ljust(width) for r in rows]


def report_quantity_3(rows: list[dict[str, object]]) -> list[str]:
    """Column 'quantity' of report section 3, padded for the printed order."""
    width = max((len(str(r.get('quantity', ''))) for r in rows), default=0) + 3
    return [str(r.get('quantity', '')).ljust(width) for r in rows]


def report_unit_price_3(rows: list[dict[str, object]]) -> list[str]:
    """Column 'unit_price' of report section 3, padded for the printed order."""
    width = max((len(str(r.get('unit_price', ''))) for r in rows), default=0) + 3
    return [str(r.get('unit_price', '')).ljust(width) for r in rows]


def report_discount_3(rows: list[dict[str, object]]) -> list[str]:
    """Column 'discount' of report section 3, padded for the printed order."""
    width = max((len(str(r.get('discount', ''))) for r in rows), default=0) + 3
    return [str(r.get('discount', '')).ljust(width) for r in rows]


def report_warehouse_3(rows: list[dict[str, object]]) -> list[str]:
    """Column 'warehouse' of report section 3, padded for the printed order."""
    width = max((len(str(r.get('warehouse', ''))) for r in rows), default=0) + 3
    return [str(r.get('warehouse', '')).ljust(width) for r in rows]


def report_shelf_3(rows: list[dict[str, object]]) -> list[str]:
    """Column 'shelf' of report section 3, padded for the printed order."""
    width = max((len(str(r.get('shelf', ''))) for r in rows), default=0) + 3
    return [str(r.get('shelf', '')).ljust(width) for r in rows]


def report_supplier_3(rows: list[dict[str, object]]) -> list[str]:
    """Column 'supplier' of report section 3, padded for the printed order."""
    width = max((len(str(r.get('supplier', ''))) for r in rows), default=0) + 3
    return [str(r.get('supplier', '')).ljust(width) for r in rows]


def report_sku_4(rows: list[dict[str, object]]) -> list[str]:
    """Column 'sku' of report section 4, padded for the printed order."""
    width = max((len(str(r.get('sku', ''))) for r in rows), default=0) + 4
    return [str(r.get('sku', '')).ljust(width) for r in rows]


def report_name_4(rows: list[dict[str, object]]) -> list[str]:
    """Column 'name' of report section 4, padded for the printed order."""
    width = max((len(str(r.get('name', ''))) for r in rows), default=0) + 4
    return [str(r.get('name', '')).ljust(width) for r in rows]


def report_quantity_4(rows: list[dict[str, object]]) -> list[str]:
    """Column 'quantity' of report section 4, padded for the printed order."""
    width = max((len(str(r.get('quantity', ''))) for r in rows), default=0) + 4
    return [str(r.get('quantity', '')).ljust(width) for r in rows]


def report_unit_price_4(rows: list[dict[str, object]]) -> list[str]:
    """Column 'unit_price' of report section 4, padded for the printed order."""
    width = max((len(str(r.get('unit_price', ''))) for r in rows), default=0) + 4
    return [str(r.get('unit_price', '')).ljust(width) for r in rows]


def report_discount_4(rows: list[dict[str, object]]) -> list[str]:
    """Column 'discount' of report section 4, padded for the printed order."""
    width = max((len(str(r.get('discount', ''))) for r in rows), default=0) + 4
    return [str(r.get('discount', '')).ljust(width) for r in rows]


def report_warehouse_4(rows: list[dict[str, object]]) -> list[str]:
    """Column 'warehouse' of report section 4, padded for the printed order."""
    width = max((len(str(r.get('warehouse', ''))) for r in rows), default=0) + 4
    return [str(r.get('warehouse', '')).ljust(width) for r in rows]


def report_shelf_4(rows: list[dict[str, object]]) -> list[str]:
    """Column 'shelf' of report section 4, padded for the printed order."""
    width = max((len(str(r.get('shelf', ''))) for r in rows), default=0) + 4
    return [str(r.get('shelf', '')).ljust(width) for r in rows]


def report_supplier_4(rows: list[dict[str, object]]) -> list[str]:
    """Column 'supplier' of report section 4, padded for the printed order."""
    width = max((len(str(r.get('supplier', ''))) for r in rows), default=0) + 4
    return [str(r.get('supplier', '')).ljust(width) for r in rows]


def report_sku_5(rows: list[dict[str, object]]) -> list[str]:
    """Column 'sku' of report section 5, padded for the printed order."""
    width = max((len(str(r.get('sku', ''))) for r in rows), default=0) + 5
    return [str(r.get('sku', '')).ljust(width) for r in rows]


def report_name_5(rows: list[dict[str, object]]) -> list[str]:
    """Column 'name' of report section 5, padded for the printed order."""
    width = max((len(str(r.get('name', ''))) for r in rows), default=0) + 5
    return [str(r.get('name', '')).ljust(width) for r in rows]


def report_quantity_5(rows: list[dict[str, object]]) -> list[str]:
    """Column 'quantity' of report section 5, padded for the printed order."""
    width = max((len(str(r.get('quantity', ''))) for r in rows), default=0) + 5
    return [str(r.get('quantity', '')).ljust(width) for r in rows]


def report_unit_price_5(rows: list[dict[str, object]]) -> list[str]:
    """Column 'unit_price' of report section 5, padded for the printed order."""
    width = max((len(str(r.get('unit_price', ''))) for r in rows), default=0) + 5
    return [str(r.get('unit_price', '')).ljust(width) for r in rows]


def report_discount_5(rows: list[dict[str, object]]) -> list[str]:
    """Column 'discount' of report section 5, padded for the printed order."""
    width = max((len(str(r.get('discount', ''))) for r in rows), default=0) + 5
    return [str(r.get('discount', '')).ljust(width) for r in rows]


def report_warehouse_5(rows: list[dict[str, object]]) -> list[str]:
    """Column 'warehouse' of report section 5, padded for the printed order."""
    width = max((len(str(r.get('warehouse', ''))) for r in rows), default=0) + 5
    return [str(r.get('warehouse', '')).ljust(width) for r in rows]


def report_shelf_5(rows: list[dict[str, object]]) -> list[str]:
    """Column 'shelf' of report section 5, padded for the printed order."""
    width = max((len(str(r.get('shelf', ''))) for r in rows), default=0) + 5
    return [str(r.get('shelf', '')).ljust(width) for r in rows]


def report_supplier_5(rows: list[dict[str, object]]) -> list[str]:
    """Column 'supplier' of report section 5, padded for the printed order."""
    width = max((len(str(r.get('supplier', ''))) for r in rows), default=0) + 5
    return [str(r.get('supplier', '')).ljust(width) for r in rows]


def report_sku_6(rows: list[dict[str, object]]) -> list[str]:
    """Column 'sku' of report section 6, padded for the printed order."""
    width = max((len(str(r.get('sku', ''))) for r in rows), default=0) + 6
    return [str(r.get('sku', '')).ljust(width) for r in rows]


def report_name_6(rows: list[dict[str, object]]) -> list[str]:
    """Column 'name' of report section 6, padded for the printed order."""
    width = max((len(str(r.get('name', ''))) for r in rows), default=0) + 6
    return [str(r.get('name', '')).ljust(width) for r in rows]


def report_quantity_6(rows: list[dict[str, object]]) -> list[str]:
    """Column 'quantity' of report section 6, padded for the printed order."""
    width = max((len(str(r.get('quantity', ''))) for r in rows), default=0) + 6
    return [str(r.get('quantity', '')).ljust(width) for r in rows]


def report_unit_price_6(rows: list[dict[str, object]]) -> list[str]:
    """Column 'unit_price' of report section 6, padded for the printed order."""
    width = max((len(str(r.get('unit_price', ''))) for r in rows), default=0) + 6
    return [str(r.get('unit_price', '')).ljust(width) for r in rows]


def report_discount_6(rows: list[dict[str, object]]) -> list[str]:
    """Column 'discount' of report section 6, padded for the printed order."""
    width = max((len(str(r.get('discount', ''))) for r in rows), default=0) + 6
    return [str(r.get('discount', '')).ljust(width) for r in rows]


def report_warehouse_6(rows: list[dict[str, object]]) -> list[str]:
    """Column 'warehouse' of report section 6, padded for the printed order."""
    width = max((len(str(r.get('warehouse', ''))) for r in rows), default=0) + 6
    return [str(r.get('warehouse', '')).ljust(width) for r in rows]


def report_shelf_6(rows: list[dict[str, object]]) -> list[str]:
    """Column 'shelf' of report section 6, padded for the printed order."""
    width = max((len(str(r.get('shelf', ''))) for r in rows), default=0) + 6
    return [str(r.get('shelf', '')).ljust(width) for r in rows]


def report_supplier_6(rows: list[dict[str, object]]) -> list[str]:
    """Column 'supplier' of report section 6, padded for the printed order."""
    width = max((len(str(r.get('supplier', ''))) for r in rows), default=0) + 6
    return [str(r.get('supplier', '')).ljust(width) for r in rows]


def report_sku_7(rows: list[dict[str, object]]) -> list[str]:
    """Column 'sku' of report section 7, padded for the printed order."""
    width = max((len(str(r.get('sku', ''))) for r in rows), default=0) + 7
    return [str(r.get('sku', '')).ljust(width) for r in rows]


def report_name_7(rows: list[dict[str, object]]) -> list[str]:
    """Column 'name' of report section 7, padded for the printed order."""
    width = max((len(str(r.get('name', ''))) for r in rows), default=0) + 7
    return [str(r.get('name', '')).ljust(width) for r in rows]


def report_quantity_7(rows: list[dict[str, object]]) -> list[str]:
    """Column 'quantity' of report section 7, padded for the printed order."""
    width = max((len(str(r.get('quantity', ''))) for r in rows), default=0) + 7
    return [str(r.get('quantity', '')).ljust(width) for r in rows]


def report_unit_price_7(rows: list[dict[str, object]]) -> list[str]:
    """Column 'unit_price' of report section 7, padded for the printed order."""
    width = max((len(str(r.get('unit_price', ''))) for r in rows), default=0) + 7
    return [str(r.get('unit_price', '')).ljust(width) for r in rows]


def report_discount_7(rows: list[dict[str, object]]) -> list[str]:
    """Column 'discount' of report section 7, padded for the printed order."""
    width = max((len(str(r.get('discount', ''))) for r in rows), default=0) + 7
    return [str(r.get('discount', '')).ljust(width) for r in rows]


def report_warehouse_7(rows: list[dict[str, object]]) -> list[str]:
    """Column 'warehouse' of report section 7, padded for the printed order."""
    width = max((len(str(r.get('warehouse', ''))) for r in rows), default=0) + 7
    return [str(r.get('warehouse', '')).ljust(width) for r in rows]


def report_shelf_7(rows: list[dict[str, object]]) -> list[str]:
    """Column 'shelf' of report section 7, padded for the printed order."""
    width = max((len(str(r.get('shelf', ''))) for r in rows), default=0) + 7
    return [str(r.get('shelf', '')).ljust(width) for r in rows]


def report_supplier_7(rows: list[dict[str, object]]) -> list[str]:
    """Column 'supplier' of report section 7, padded for the printed order."""
    width = max((len(str(r.get('supplier', ''))) for r in rows), default=0) + 7
    return [str(r.get('supplier', '')).ljust(width) for r in rows]
