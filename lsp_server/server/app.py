"""The pygls server: all server state lives on :class:`AgenticServer`."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from lsprotocol.types import ResponseError
from pygls.exceptions import JsonRpcException
from pygls.io_ import StdoutWriter, run_async
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from lsp_server import __version__
from lsp_server.config import Settings, SettingsSource, load_settings
from lsp_server.context.documents import Documents
from lsp_server.errors import ConfigError
from lsp_server.server.hover_text import ExplanationCache

if TYPE_CHECKING:
    from lsp_server.assistant import Assistant

log = logging.getLogger(__name__)


class AgenticProtocol(LanguageServerProtocol):
    """Two fixes over pygls's protocol.

    ``$/cancelRequest`` reaches the handler's task: pygls runs some requests
    (``workspace/executeCommand`` among them) behind a generator whose outer future is what a
    cancel cancels; the handler's own task would keep running. Handlers register their task
    under the request id (:meth:`AgenticServer.track`) and are cancelled too.

    A request whose parameters do not fit its method (a code action without a title, a position
    that is a string) gets an error response: pygls logs it and drops the message, and the
    editor would wait for an answer forever.
    """

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            msg_id, method = data.get("id"), data.get("method")
            if isinstance(msg_id, int | str) and not isinstance(msg_id, bool) and isinstance(method, str):
                self._send_response(msg_id, error=ResponseError(
                    code=exc.code, message=f"{method}: the parameters do not fit the method"))
            raise

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        super()._handle_cancel_notification(msg_id)
        server = self._server
        if isinstance(server, AgenticServer):
            task = server.running.pop(msg_id, None)
            if task is not None:
                task.cancel()


class AgenticServer(LanguageServer):
    """Holds the settings, the documents overlay and the workspace root for the handlers."""

    def __init__(self, *, config_path: Path | None = None, context_process: bool = True) -> None:
        super().__init__("agentic-optimizer", __version__, protocol_cls=AgenticProtocol)
        self.config_path = config_path
        self.context_process = context_process
        self.documents = Documents()
        self.root: Path | None = None
        self.settings_source = SettingsSource()
        self.init_options: dict[str, Any] = {}
        self.client_options: dict[str, Any] = {}
        self.pending_message: str | None = None
        self.assistant: Assistant | None = None
        self.explanations = ExplanationCache()
        self.hover_tasks: dict[str, asyncio.Task[str | None]] = {}
        self.background: set[asyncio.Future[None]] = set()
        self.running: dict[Any, asyncio.Task[Any]] = {}

    @property
    def settings(self) -> Settings:
        """The current settings (every component reads them through :attr:`settings_source`)."""
        return self.settings_source.current

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve over stdio with the event loop reading stdin itself.

        pygls reads each header line and each body through its thread pool: four thread hand-offs
        per message, each waiting for the GIL whenever another thread (verification, index
        updates) runs. When stdin is a pipe of its own, as editors start servers, a pipe
        transport on the loop reads it instead; anything else keeps pygls's reader.
        """
        stdin = stdin or sys.stdin.buffer
        stdout = stdout or sys.stdout.buffer
        if not _own_pipe(stdin, stdout):
            super().start_io(stdin, stdout)
            return
        self._stop_event = stop = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout))

        async def serve() -> None:
            loop = asyncio.get_running_loop()
            reader = asyncio.StreamReader(limit=STDIN_LINE_LIMIT)
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
            try:
                await run_async(stop_event=stop, reader=reader, protocol=self.protocol,
                                logger=log, error_handler=self.report_server_error)
            except asyncio.IncompleteReadError:  # the client went away mid-message
                log.info("stdin closed mid-message; shutting down")

        try:
            asyncio.run(serve())
        except BrokenPipeError:
            log.error("the connection to the client is lost; shutting down")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()  # type: ignore[no-untyped-call]

    def track(self) -> Any:
        """Register the current task under the current request id, so a cancel reaches it."""
        msg_id = self.protocol.msg_id
        task = asyncio.current_task()
        if msg_id is not None and task is not None:
            self.running[msg_id] = task
        return msg_id

    def get_assistant(self) -> Assistant:
        """The one Assistant for this workspace, created on first use."""
        if self.assistant is None:
            from lsp_server.assistant import Assistant

            if self.root is None:
                raise ConfigError("no workspace folder is open; open a folder to use the assistant")
            # Context building runs in a child process: in a thread it would hold the GIL and
            # the editor would wait for code actions, hover and didChange meanwhile.
            self.assistant = Assistant(self.root, self.settings_source, self.documents,
                                       context_process=self.context_process)
        return self.assistant

    def reload_settings(self) -> str | None:
        """Re-read settings from every layer. On a bad value keep the last good settings and
        return the message for the user; on success return None."""
        try:
            settings = load_settings(
                self.root,
                config_path=self.config_path,
                overrides=_merge(self.init_options, self.client_options),
            )
        except ConfigError as exc:
            log.warning("settings rejected, keeping the previous ones: %s", exc)
            return f"Agentic Optimizer: {exc} (keeping the previous settings)"
        self.settings_source.replace(settings)
        return None


# Header lines are short; the limit only bounds a malformed one.
STDIN_LINE_LIMIT = 1 << 20


def _own_pipe(stdin: BinaryIO, stdout: BinaryIO) -> bool:
    """Whether stdin is a pipe not shared with stdout: the pipe transport makes it non-blocking,
    which must not reach the stream the server writes to."""
    try:
        st_in, st_out = os.fstat(stdin.fileno()), os.fstat(stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISFIFO(st_in.st_mode) and (st_in.st_dev, st_in.st_ino) != (st_out.st_dev, st_out.st_ino)


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def create_server(*, config_path: Path | None = None, context_process: bool = True) -> AgenticServer:
    """A server with every feature registered."""
    from lsp_server.server import features_ai, features_hover, features_sync

    server = AgenticServer(config_path=config_path, context_process=context_process)
    features_sync.register(server)
    features_ai.register(server)
    features_hover.register(server)
    return server
