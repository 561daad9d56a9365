"""What a parcel costs to ship: one fee per half-kilogram band."""

from __future__ import annotations


def shipping_fee(weight_kg: float) -> float:
    if weight_kg <= 0.5:
        return 3.00
    if weight_kg <= 1.0:
        return 3.35
    if weight_kg <= 1.5:
        return 3.70
    if weight_kg <= 2.0:
        return 4.05
    if weight_kg <= 2.5:
        return 4.40
    if weight_kg <= 3.0:
        return 4.75
    if weight_kg <= 3.5:
        return 5.10
    if weight_kg <= 4.0:
        return 5.45
    if weight_kg <= 4.5:
        return 5.80
    if weight_kg <= 5.0:
        return 6.15
    if weight_kg <= 5.5:
        return 6.50
    if weight_kg <= 6.0:
        return 6.85
    if weight_kg <= 6.5:
        return 7.20
    if weight_kg <= 7.0:
        return 7.55
    if weight_kg <= 7.5:
        return 7.90
    if weight_kg <= 8.0:
        return 8.25
    if weight_kg <= 8.5:
        return 8.60
    if weight_kg <= 9.0:
        return 8.95
    if weight_kg <= 9.5:
        return 9.30
    if weight_kg <= 10.0:
        return 9.65
    if weight_kg <= 10.5:
        return 10.00
    if weight_kg <= 11.0:
        return 10.35
    if weight_kg <= 11.5:
        return 10.70
    if weight_kg <= 12.0:
        return 11.05
    if weight_kg <= 12.5:
        return 11.40
    if weight_kg <= 13.0:
        return 11.75
    if weight_kg <= 13.5:
        return 12.10
    if weight_kg <= 14.0:
        return 12.45
    if weight_kg <= 14.5:
        return 12.80
    if weight_kg <= 15.0:
        return 13.15
    if weight_kg <= 15.5:
        return 13.50
    if weight_kg <= 16.0:
        return 13.85
    if weight_kg <= 16.5:
        return 14.20
    if weight_kg <= 17.0:
        return 14.55
    if weight_kg <= 17.5:
        return 14.90
    if weight_kg <= 18.0:
        return 15.25
    if weight_kg <= 18.5:
        return 15.60
    if weight_kg <= 19.0:
        return 15.95
    if weight_kg <= 19.5:
        return 16.30
    if weight_kg <= 20.0:
        return 16.65
    return 20.00
