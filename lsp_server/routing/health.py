"""Cool-downs: a model that keeps failing is left alone for a while instead of being hammered.

After ``failures_before_cooldown`` consecutive transport failures a model cools down for
``cooldown_seconds``; a rate limit with a ``Retry-After`` hint cools it down at once for at
least that long. A success resets the count. The clock is injectable for tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _State:
    failures: int = 0
    until: float = 0.0
    last_error: str = ""


@dataclass
class Health:
    failures_before_cooldown: int = 3
    cooldown_seconds: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _states: dict[str, _State] = field(default_factory=dict)

    def cooling(self, name: str) -> float:
        """Seconds left in ``name``'s cool-down (0 when it may be called)."""
        state = self._states.get(name)
        if state is None:
            return 0.0
        return max(0.0, state.until - self.clock())

    def available(self, name: str) -> bool:
        return self.cooling(name) <= 0.0

    def success(self, name: str) -> None:
        self._states.pop(name, None)

    def failure(self, name: str, error: str = "", *, retry_after: float | None = None) -> bool:
        """Count a failure; return True when the model now cools down."""
        state = self._states.setdefault(name, _State())
        state.failures += 1
        state.last_error = error
        now = self.clock()
        if retry_after is not None and retry_after > 0:
            state.until = max(state.until, now + retry_after)
        if state.failures >= self.failures_before_cooldown:
            state.until = max(state.until, now + self.cooldown_seconds)
            state.failures = 0
        return state.until > now

    def describe(self, name: str) -> str:
        left = self.cooling(name)
        state = self._states.get(name)
        why = f" after {state.last_error}" if state and state.last_error else ""
        return f"{name} is cooling down for {left:.0f} s{why}"
