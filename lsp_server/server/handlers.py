"""Running assistant requests from handlers: progress, the spend notification, and turning any
failure into one readable message (the server never dies on a bad request)."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from lsprotocol import types as lsp

from lsp_server import wire
from lsp_server.assistant import AssistRequest, AssistResult
from lsp_server.errors import AgenticError
from lsp_server.server.actions import format_cost
from lsp_server.server.app import AgenticServer
from lsp_server.server.progress import ProgressReporter

if TYPE_CHECKING:
    from lsp_server.context.index.project import IndexStats

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


def show(ls: AgenticServer, message: str, kind: lsp.MessageType = lsp.MessageType.Error) -> None:
    ls.window_show_message(lsp.ShowMessageParams(type=kind, message=message))


def user_errors(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T | None]]:
    """Decorate an async handler: engine errors become one message (and a None result); other
    failures are logged in full. The server never dies on a bad request."""

    @functools.wraps(fn)
    async def inner(*args: P.args, **kwargs: P.kwargs) -> T | None:
        ls = args[0]
        assert isinstance(ls, AgenticServer)
        msg_id = ls.track()
        try:
            return await fn(*args, **kwargs)
        except asyncio.CancelledError:
            log.info("%s cancelled", getattr(fn, "__name__", "handler"))
            raise
        except AgenticError as exc:
            log.info("%s: %s", getattr(fn, "__name__", "handler"), exc)
            show(ls, f"Agentic Optimizer: {exc}")
        except Exception:
            log.exception("%s failed", getattr(fn, "__name__", "handler"))
            show(ls, "Agentic Optimizer: internal error; details are in the server log")
        finally:
            ls.running.pop(msg_id, None)
        return None

    return inner


async def notify_spend(ls: AgenticServer, request_id: str | None = None) -> None:
    """Today's spend and savings, for status bars, naming the request that just finished (if
    any) for "feedback on the last result" (notification ``agentic/spend``). The totals are a
    ledger query (over the network for a team ledger), so they are read off the event loop."""
    try:
        today = await asyncio.to_thread(ls.get_assistant().today)
    except AgenticError as exc:
        log.debug("no spend summary: %s", exc)
        return
    ls.protocol.notify(wire.SPEND_NOTIFICATION, wire.spend_params(today, request_id))


async def run_request(ls: AgenticServer, request: AssistRequest, title: str) -> AssistResult:
    """Run one request with progress; the spend notification follows every finished request."""
    assistant = ls.get_assistant()
    result: AssistResult | None = None
    try:
        async with ProgressReporter(ls, title) as progress:
            result = await assistant.run(request, progress=progress.report)
            progress.end_message = f"{result.tier or 'index'} · {format_cost(result.cost_usd)}"
    finally:
        await notify_spend(ls, result.request_id if result is not None else None)
    return result


def describe(result: AssistResult) -> str:
    """One line for the user when there is no edit to show."""
    notes = "; ".join(result.notes)
    head = f"{result.outcome} ({result.tier or 'no model'}, {format_cost(result.cost_usd)})"
    return f"Agentic Optimizer: {head}" + (f": {notes}" if notes else "")


def result_message(result: AssistResult) -> str:
    return result.answer.strip() if result.answer else describe(result)


def settle_heap() -> None:
    """Collect once, then exempt everything alive from later full collections.

    The index is hundreds of thousands of long-lived objects; every full collection walked all
    of them (about 80 ms on ripgrep, landing on whichever request allocated last, such as a hover
    after an edit). Frozen objects are still freed by reference counting; only cycles among
    them would outlive their use.
    """
    gc.collect()
    gc.freeze()


async def reindex_settled(ls: AgenticServer) -> IndexStats:
    """Refresh the index in a thread and settle the heap it left (see :func:`settle_heap`);
    warn the user when the walk stopped at ``context.max_files`` or the stored index was
    damaged and built again."""
    assistant = ls.get_assistant()

    def work() -> IndexStats:
        stats = assistant.reindex()
        assistant.prime()
        settle_heap()
        return stats

    stats = await asyncio.to_thread(work)
    for note in stats.notes():
        show(ls, f"Agentic Optimizer: {note}", lsp.MessageType.Warning)
    return stats


async def index_in_background(ls: AgenticServer) -> None:
    """Build or refresh the index after startup, with progress; failures are reported once."""
    try:
        async with ProgressReporter(ls, "Indexing") as progress:
            stats = await reindex_settled(ls)
            progress.end_message = f"{stats.files} files"
    except asyncio.CancelledError:
        raise
    except AgenticError as exc:
        show(ls, f"Agentic Optimizer: indexing failed: {exc}", lsp.MessageType.Warning)
    except Exception:
        log.exception("indexing failed")
        show(ls, "Agentic Optimizer: indexing failed; details are in the server log",
             lsp.MessageType.Warning)
