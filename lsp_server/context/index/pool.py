"""Parsing many files at once: this process and helper processes, claiming files off a counter.

A refresh that finds few or small changed files parses them here. Otherwise this process
parses too, beside ``workers - 1`` helpers (one process per core, and its own results need no
pickling); everyone claims files largest first off a shared counter (:mod:`claims`), so all
finish within about one small file of each other. A helper sends its results once, at the end,
as plain tuples; the files of a helper that died are parsed here.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.context import ForkContext, ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess

from lsp_server.context.index.claims import Claims, ForkedCounter, claim
from lsp_server.context.index.languages import LANGUAGES
from lsp_server.context.index.parse_file import ParsedFile, parse_path
from lsp_server.context.index.parsers import parser_for

log = logging.getLogger(__name__)

PARALLEL_MIN_FILES = 24  # fewer changed files than this are parsed in-process
PARALLEL_MIN_BYTES = 256 * 1024

# What a refresh asks to parse: (path, abspath, language, size, mtime_ns, known hash).
Task = tuple[str, str, str, int, int, str]
# A ParsedFile as a plain tuple (field order), which pickles far cheaper than the dataclass.
ParsedRow = tuple[str, str, str, int, int, int, int, int, int, bytes, bytes, str, bool]


def default_workers() -> int:
    """One process per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _process_context() -> ForkContext | ForkServerContext | SpawnContext:
    """fork is fastest, but forking a process that runs other threads (the language server's
    event loop and thread pool) can deadlock the children on a lock held at fork time."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


def parse_files(todo: list[Task], workers: int, before_fork: Callable[[], None]) -> Iterator[ParsedFile]:
    """Every task parsed, in no particular order, over at most ``workers`` processes.

    ``before_fork`` runs before helpers start (a thread of the caller's that must not make
    ``fork`` look unsafe, such as the store's checkpointer, waits for its work there).
    """
    size = sum(item[3] for item in todo)
    if workers < 2 or len(todo) < PARALLEL_MIN_FILES or size < PARALLEL_MIN_BYTES:
        for item in todo:
            yield parse_path(*item)
        return
    tasks = sorted(todo, key=lambda it: -it[3])
    for spec in {LANGUAGES[item[2]] for item in tasks}:
        parser_for(spec)
        spec.tags_query  # compiled once here, inherited by forked helpers  # noqa: B018
    before_fork()
    ctx = _process_context()
    counter: Claims = ForkedCounter(ctx.Lock()) if isinstance(ctx, ForkContext) else ctx.Value("q", 0)
    helpers: list[tuple[BaseProcess, Connection]] = []
    done = bytearray(len(tasks))
    try:
        for _ in range(min(workers, len(tasks)) - 1):
            recv, send = ctx.Pipe(duplex=False)
            worker = ctx.Process(target=parse_worker, args=(tasks, counter, send), daemon=True)
            worker.start()
            send.close()
            helpers.append((worker, recv))
        for i, parsed in parse_claimed(tasks, counter):
            done[i] = 1
            yield parsed
        for _proc, recv in helpers:
            try:
                got: list[tuple[int, ParsedRow]] = recv.recv()
            except (EOFError, OSError):
                log.warning("index: a parse worker died; parsing its files here")
                got = []
            for i, row in got:
                done[i] = 1
                yield from_row(row)
        for i, item in enumerate(tasks):  # claimed by a worker that failed
            if not done[i]:
                yield parse_path(*item)
    finally:
        for proc, recv in helpers:
            recv.close()
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join()


def as_row(r: ParsedFile) -> ParsedRow:
    return (r.path, r.language, r.content_hash, r.size, r.mtime_ns, r.lines, r.error_nodes,
            r.n_defs, r.n_refs, r.symbols, r.imports, r.note, r.unchanged)


def from_row(t: ParsedRow) -> ParsedFile:
    return ParsedFile(*t)


def parse_claimed(tasks: list[Task], counter: Claims) -> Iterator[tuple[int, ParsedFile]]:
    """Parse tasks one at a time as claimed off ``counter``, shared with the other processes.

    Claiming file by file (largest first) keeps every process busy to the end: whoever is
    free takes the next file, so the last ones to finish are the smallest.
    """
    while (i := claim(counter, len(tasks))) is not None:
        yield i, parse_path(*tasks[i])


def parse_worker(tasks: list[Task], counter: Claims, conn: Connection) -> None:
    """Worker process entry point: parse claimed tasks, send (index, row) pairs once done.

    One message at the end rather than one per file: the parent is parsing too and reads
    only when it has run out of tasks, so earlier messages would just block in the pipe.
    """
    out: list[tuple[int, ParsedRow]] = []
    try:
        for i, parsed in parse_claimed(tasks, counter):
            out.append((i, as_row(parsed)))
    finally:
        conn.send(out)
        conn.close()
