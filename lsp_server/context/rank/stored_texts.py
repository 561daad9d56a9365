"""The project's file texts as the ranking tables hold them: compressed, decoded when read.

The tables keep each file's text as it was when its rows were built, so snippets are cut from
the same text the passages and token counts came from. A request reads a handful of files
(the snippets, a quoted phrase's few candidates), so the texts are kept zlib-compressed at
level 1: on sympy 28 MB of strings become about 7 MB, in memory, in the tables' snapshot and
in loading it. Reading one decompresses it (tens of microseconds for a typical file).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, MutableMapping

LEVEL = 1  # fastest: most of the saving at a small share of the build's time


class StoredTexts(MutableMapping[str, str]):
    """path → text, stored compressed (lone surrogates from a buffer round-trip exactly)."""

    def __init__(self) -> None:
        self._packed: dict[str, bytes] = {}

    def __getitem__(self, path: str) -> str:
        return zlib.decompress(self._packed[path]).decode("utf-8", "surrogatepass")

    def __setitem__(self, path: str, text: str) -> None:
        self._packed[path] = zlib.compress(text.encode("utf-8", "surrogatepass"), LEVEL)

    def __delitem__(self, path: str) -> None:
        del self._packed[path]

    def __contains__(self, path: object) -> bool:
        return path in self._packed

    def __iter__(self) -> Iterator[str]:
        return iter(self._packed)

    def __len__(self) -> int:
        return len(self._packed)

    def stored_bytes(self) -> int:
        """The compressed size of every text (for diagnostics)."""
        return sum(len(b) for b in self._packed.values())
