"""Pause the cyclic garbage collector while bulk structures are built.

Building the ranking tables of a large project allocates millions of container objects that
all stay alive (postings, definitions, references). Each allocation burst triggers a
collection, and the full ones walk everything built so far: on tokio, seven of them took a
quarter of building the tables. One collection at the end walks it all once. Reference counting
still frees every temporary while the collector is paused; only reference cycles wait.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_collection(*, collect_after: bool = False) -> Iterator[None]:
    """No cyclic collection inside the block; the collector's state is restored after it.

    With ``collect_after`` (a bulk build), one full collection runs as the block ends: the
    first allocation after a pause would otherwise start one over everything the block built,
    inside whatever comes next (the first request after the build).

    Nesting (or another thread pausing at the same time) is safe: whoever found the collector
    running turns it back on, so it never stays off once every block has ended.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
            if collect_after:
                gc.collect()
