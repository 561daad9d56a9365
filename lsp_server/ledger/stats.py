"""The two significance tests ``metrics --compare`` uses, in plain Python (no SciPy).

- Rates (success): the two-proportion z-test with a pooled proportion. It is only trusted when
  every expected count (successes and failures, per variant) is at least 5.
- Distributions (cost, latency, rating): the Mann-Whitney U test, normal approximation with tie
  and continuity corrections. It is only trusted with at least 10 values per variant.

Both return a two-sided p-value, or None when the sample is too small for the approximation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

MIN_EXPECTED = 5
MIN_SAMPLES = 10
ALPHA = 0.05
Z_TEST = "two-proportion z-test"
U_TEST = "Mann-Whitney U test"


def two_sided_p(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2.0))


def two_proportion_p(s1: int, n1: int, s2: int, n2: int) -> float | None:
    """Two-sided p-value that the success rates s1/n1 and s2/n2 differ, or None if too few."""
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (s1 + s2) / (n1 + n2)
    expected = (n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled))
    if min(expected) < MIN_EXPECTED:
        return None
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    return two_sided_p((s1 / n1 - s2 / n2) / se)


def mann_whitney_p(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Two-sided p-value that x and y come from different distributions, or None if too few."""
    n1, n2 = len(x), len(y)
    if n1 < MIN_SAMPLES or n2 < MIN_SAMPLES:
        return None
    combined = sorted([(v, 0) for v in x] + [(v, 1) for v in y])
    n = n1 + n2
    rank_sum_x = 0.0
    tie_term = 0.0
    i = 0
    while i < n:
        j = i
        while j + 1 < n and combined[j + 1][0] == combined[i][0]:
            j += 1
        average_rank = (i + j) / 2 + 1
        t = j - i + 1
        tie_term += t**3 - t
        rank_sum_x += average_rank * sum(1 for k in range(i, j + 1) if combined[k][1] == 0)
        i = j + 1
    u = rank_sum_x - n1 * (n1 + 1) / 2
    mean = n1 * n2 / 2
    variance = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1)))
    if variance <= 0:
        return 1.0
    diff = u - mean
    corrected = max(abs(diff) - 0.5, 0.0)
    return two_sided_p(corrected / math.sqrt(variance))
