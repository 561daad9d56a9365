"""Where each BM25 passage of the ranking tables comes from, as arrays.

A passage id (handed out in increasing order by the tables) maps to its file, the definition
that owns it (or none: code outside definitions) and its line span. Two dicts of tuples cost
about 330 bytes a passage and a quarter of a million objects on sympy (each pickled, memoized
and unpickled with the tables' snapshot); four 4-byte arrays and a byte cost 17. Ranking reads
them through two read-only mappings with the dicts' interface: :attr:`PassageTable.owners`
(id → (path, definition id or None)) and :attr:`PassageTable.spans` (id → (first, last line)).
A removed passage is marked dead; its slot is never reused (ids only grow).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar


class PassageTable:
    def __init__(self) -> None:
        self._paths: list[str] = []
        self._path_ix: dict[str, int] = {}
        self._file = array("i")
        self._owner = array("i")  # -1: no owning definition
        self._start = array("i")
        self._end = array("i")
        self._live = bytearray()
        self._n_live = 0
        self.owners: Mapping[int, tuple[str, int | None]] = _View(self, self.owner)
        self.spans: Mapping[int, tuple[int, int]] = _View(self, self.span)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(vars(self))
        del state["owners"], state["spans"], state["_path_ix"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        vars(self).update(state)
        self._path_ix = {p: i for i, p in enumerate(self._paths)}
        self.owners = _View(self, self.owner)
        self.spans = _View(self, self.span)

    def add(self, k: int, path: str, owner: int | None, span: tuple[int, int]) -> None:
        """Record passage ``k``: the next id, as the tables hand them out."""
        if k < len(self._live):
            raise ValueError(f"passage {k} was recorded before (ids only grow)")
        while len(self._live) < k:  # ids skipped: never live
            for arr in (self._file, self._owner, self._start, self._end):
                arr.append(-1)
            self._live.append(0)
        ix = self._path_ix.get(path)
        if ix is None:
            ix = self._path_ix[path] = len(self._paths)
            self._paths.append(path)
        self._file.append(ix)
        self._owner.append(-1 if owner is None else owner)
        self._start.append(span[0])
        self._end.append(span[1])
        self._live.append(1)
        self._n_live += 1

    def remove(self, k: int) -> None:
        if not self.live(k):
            raise KeyError(k)
        self._live[k] = 0
        self._n_live -= 1

    def live(self, k: object) -> bool:
        return isinstance(k, int) and 0 <= k < len(self._live) and self._live[k] == 1

    def ids(self) -> Iterator[int]:
        """Live passage ids, in increasing order (the order they were recorded in)."""
        live = self._live
        return (k for k in range(len(live)) if live[k])

    def __len__(self) -> int:
        return self._n_live

    def owner(self, k: int) -> tuple[str, int | None]:
        if not self.live(k):
            raise KeyError(k)
        o = self._owner[k]
        return self._paths[self._file[k]], (None if o < 0 else o)

    def span(self, k: int) -> tuple[int, int]:
        if not self.live(k):
            raise KeyError(k)
        return self._start[k], self._end[k]


V = TypeVar("V")


class _View(Mapping[int, V]):
    """A read-only column of the table (``get`` reads one passage's value)."""

    def __init__(self, table: PassageTable, get: Callable[[int], V]) -> None:
        self._table = table
        self._get = get

    def __getitem__(self, k: int) -> V:
        return self._get(k)

    def __contains__(self, k: object) -> bool:
        return self._table.live(k)

    def __iter__(self) -> Iterator[int]:
        return self._table.ids()

    def __len__(self) -> int:
        return len(self._table)
