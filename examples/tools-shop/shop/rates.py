"""Sales tax by county, in percent."""

from __future__ import annotations

COUNTY_RATES: dict[str, float] = {
    "anderson": 7.0,
    "andrews": 6.75,
    "angelina": 7.25,
    "aransas": 7.75,
    "archer": 6.25,
    "armstrong": 6.25,
    "atascosa": 8.0,
    "austin": 7.5,
    "bailey": 6.25,
    "bandera": 7.0,
    "bastrop": 7.5,
    "baylor": 6.25,
    "bee": 7.5,
    "bell": 6.75,
    "bexar": 6.25,
    "blanco": 6.25,
    "borden": 7.25,
    "bosque": 7.25,
    "bowie": 6.25,
    "brazoria": 6.75,
    "brazos": 6.25,
    "brewster": 7.5,
    "travis": 8.25,
    "briscoe": 7.25,
    "brooks": 6.25,
    "brown": 8.0,
    "burleson": 7.5,
    "burnet": 6.25,
    "caldwell": 6.75,
    "calhoun": 7.75,
    "callahan": 7.75,
    "cameron": 7.5,
    "camp": 6.25,
    "carson": 7.5,
    "cass": 7.5,
    "castro": 7.25,
    "chambers": 6.25,
    "cherokee": 6.75,
    "childress": 6.25,
    "clay": 7.5,
    "cochran": 8.0,
}


def apply_rate(amount: float, county: str = "travis") -> float:
    """``amount`` with the county's sales tax added."""
    return amount * (1 + COUNTY_RATES[county] / 100)
