"""The shared counter off which parse processes claim files, one at a time.

``multiprocessing.Value`` serves every start method; helpers made by ``fork`` use
:class:`ForkedCounter`, which is cheaper to set up.
"""

from __future__ import annotations

import mmap
from contextlib import AbstractContextManager
from typing import Any, Protocol


class Claims(Protocol):
    """A shared counter (``multiprocessing.Value``, :class:`ForkedCounter`): the next task index
    nobody has taken."""

    value: int

    def get_lock(self) -> AbstractContextManager[Any]: ...


class ForkedCounter:
    """:class:`Claims` for helpers made by ``fork``: 8 bytes of anonymous shared memory, which
    the children inherit, and a lock. ``multiprocessing.Value`` does the same through ctypes
    and a shared heap whose first use imports modules for about 7 ms of the refresh."""

    def __init__(self, lock: AbstractContextManager[Any]) -> None:
        self._memory = mmap.mmap(-1, 8)  # MAP_SHARED: the same page in every forked process
        self._lock = lock

    def get_lock(self) -> AbstractContextManager[Any]:
        return self._lock

    @property
    def value(self) -> int:
        return int.from_bytes(self._memory[:8], "little")

    @value.setter
    def value(self, value: int) -> None:
        self._memory[:8] = value.to_bytes(8, "little")


def claim(counter: Claims, total: int) -> int | None:
    """Take the next task index, or None when every task is taken."""
    with counter.get_lock():
        i = counter.value
        if i >= total:
            return None
        counter.value = i + 1
    return i
