"""``$/progress`` reporting for long work, and progress-cancel → task cancel."""

from __future__ import annotations

import asyncio
import logging
import uuid
from types import TracebackType

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

log = logging.getLogger(__name__)


class ProgressReporter:
    """Begin / report / end on a server-created token when the client supports it; otherwise a
    no-op. A client's cancel of the token cancels the task that opened the reporter."""

    def __init__(self, ls: LanguageServer, title: str) -> None:
        self.ls = ls
        self.title = title
        self.token: str | None = None
        self.end_message = ""

    def _supported(self) -> bool:
        caps = self.ls.client_capabilities
        return bool(caps and caps.window and caps.window.work_done_progress)

    async def __aenter__(self) -> ProgressReporter:
        if not self._supported():
            return self
        token = f"agentic-{uuid.uuid4().hex[:12]}"
        try:
            await asyncio.wait_for(self.ls.work_done_progress.create_async(token), timeout=2)
        except (TimeoutError, Exception) as exc:  # a client that refuses gets no progress
            log.debug("progress token refused: %s", exc)
            return self
        self.token = token
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        cancel_future = self.ls.work_done_progress.tokens.get(token)
        if task is not None and cancel_future is not None:
            def _on_cancel(fut: object) -> None:
                if getattr(fut, "cancelled", lambda: False)():
                    loop.call_soon_threadsafe(task.cancel)
            cancel_future.add_done_callback(_on_cancel)
        self.ls.work_done_progress.begin(
            token, lsp.WorkDoneProgressBegin(title=self.title, cancellable=True)
        )
        return self

    def report(self, message: str) -> None:
        if self.token is not None:
            self.ls.work_done_progress.report(
                self.token, lsp.WorkDoneProgressReport(message=message)
            )

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.token is None:
            return
        message = self.end_message
        if et is asyncio.CancelledError:
            message = "cancelled"
        elif et is not None:
            message = "failed"
        self.ls.work_done_progress.end(self.token, lsp.WorkDoneProgressEnd(message=message))
        self.ls.work_done_progress.tokens.pop(self.token, None)
