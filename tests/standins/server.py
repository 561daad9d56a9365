"""A small HTTP/1.1 server on 127.0.0.1 running an asyncio loop in a thread.

It answers generation requests from a queue of scripted :class:`Reply`s (then from a fallback),
streams with chunked transfer encoding, can delay, drop the connection midway or send a body
that is not the vendor's JSON, notices when a client hangs up, and records every request.
Control endpoints under ``/_standin/`` let another process script it and read its log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from standins.script import Fallback, RecordedRequest, Reply, estimate_tokens, mask_headers
from standins.wire import WIRES, Usage, Wire, request_text

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            408: "Request Timeout", 413: "Payload Too Large", 429: "Too Many Requests",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout", 529: "Overloaded"}


_MODELS = {"anthropic": "claude-sonnet-5-5", "openai": "gpt-5.4-mini", "gemini": "gemini-3.8-flash",
           "ollama": "qwen2.5-coder:7b"}


class _HangupError(Exception):
    """The client closed the connection while we were answering."""


class StandinServer:
    """One vendor stand-in. Use as a context manager, or ``start()`` / ``stop()``."""

    def __init__(
        self,
        vendor: str,
        replies: Iterable[Reply | str] = (),
        *,
        fallback: Fallback | Reply | str | None = None,
        api_key: str | None = None,
        models: list[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        embedder: Callable[[str], list[float]] | None = None,
    ) -> None:
        if vendor not in WIRES:
            raise ValueError(f"unknown vendor {vendor!r}; expected one of {sorted(WIRES)}")
        self.vendor = vendor
        self.wire: Wire = WIRES[vendor]()
        if embedder is not None:
            # What the embedding model answers for each input text (Ollama's /api/embed).
            self.wire.embedder = embedder
        self.api_key = api_key
        self.models = models
        self.fallback = fallback
        self._host, self._port = host, port
        self._queue: deque[Reply] = deque()
        self._log: list[RecordedRequest] = []
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0
        self.add(*replies)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> StandinServer:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name=f"standin-{self.vendor}", daemon=True)
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, self._host, self._port), loop)
        self._server = fut.result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is None or server is None:
            return

        async def shutdown() -> None:
            server.close()
            for w in list(self._writers):
                w.transport.abort()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        loop.close()
        self._loop = self._server = None

    def __enter__(self) -> StandinServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL a client is configured with (for OpenAI it includes ``/v1``)."""
        root = f"http://{self._host}:{self.port}"
        return root + "/v1" if self.vendor == "openai" else root

    @property
    def root_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def model_settings(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for a ``ModelSettings`` pointing at this stand-in."""
        data: dict[str, Any] = {
            "name": f"{self.vendor}-standin", "provider": self.vendor, "model": _MODELS[self.vendor],
            "tier": "local" if self.vendor == "ollama" else "premium", "base_url": self.url,
            "max_retries": 2,
        }
        if self.vendor != "ollama":
            data["api_key_env"] = f"STANDIN_{self.vendor.upper()}_KEY"
        data.update(overrides)
        return data

    # -- scripting and the log ------------------------------------------------------------

    def add(self, *replies: Reply | str) -> None:
        """Queue replies for the next generation requests (a string is a plain answer)."""
        with self._cond:
            self._queue.extend(Reply(text=r) if isinstance(r, str) else r for r in replies)

    def reset(self) -> None:
        with self._cond:
            self._queue.clear()
            self._log.clear()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far (control requests excluded)."""
        with self._cond:
            return list(self._log)

    @property
    def generations(self) -> list[RecordedRequest]:
        """Only the requests that asked for an answer (generate or stream)."""
        return [r for r in self.requests if r.kind in ("generate", "stream")]

    def wait_for(self, predicate: Callable[[list[RecordedRequest]], bool], timeout: float = 5.0) -> bool:
        """Block until ``predicate(requests)`` holds (re-checked whenever the log changes)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(list(self._log)):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def _changed(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _next_reply(self, req: RecordedRequest) -> Reply:
        with self._cond:
            if self._queue:
                return self._queue.popleft()
        fb = self.fallback
        if fb is None:
            return Reply(text=f"OK from the {self.vendor} stand-in.")
        if isinstance(fb, Reply):
            return fb
        if isinstance(fb, str):
            return Reply(text=fb)
        got = fb(req)
        return Reply(text=got) if isinstance(got, str) else got

    # -- HTTP -----------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                parsed = await _read_request(reader)
                if parsed is None:
                    break
                keep = await self._handle(*parsed, reader, writer)
                if not keep:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, _HangupError):
            pass
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _handle(self, method: str, target: str, headers: dict[str, str], raw: bytes,
                      reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        split = urlsplit(target)
        text = raw.decode("utf-8", "replace")
        try:
            body: Any = json.loads(text) if text else None
        except ValueError:
            body = None
        req = RecordedRequest(method=method, path=split.path, query=dict(parse_qsl(split.query)),
                              headers=mask_headers(headers), body=body, raw=text)
        if split.path.startswith("/_standin/"):
            status, payload = self._control(req)
            await _send(writer, status, json.dumps(payload).encode(), "application/json")
            return True
        req.kind = self.wire.route(req) or ""
        presented = self.wire.presented_key(req, headers)
        req.key_presented = presented is not None
        req.key_ok = self.api_key is None or presented == self.api_key
        with self._cond:
            self._log.append(req)
            self._cond.notify_all()
        try:
            return await self._answer(req, reader, writer)
        finally:
            self._changed()

    def _control(self, req: RecordedRequest) -> tuple[int, Any]:
        if req.path == "/_standin/requests":
            return 200, [r.to_json() for r in self.requests]
        if req.path == "/_standin/replies" and req.method == "POST":
            items = req.body if isinstance(req.body, list) else [req.body]
            self.add(*(Reply.from_mapping(r) for r in items if isinstance(r, dict)))
            return 200, {"pending": self.pending}
        if req.path == "/_standin/reset" and req.method == "POST":
            self.reset()
            return 200, {"pending": 0}
        return 404, {"error": f"unknown control path {req.path}"}

    async def _answer(self, req: RecordedRequest, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> bool:
        wire = self.wire
        if not req.kind:
            req.status = 404
            await _send(writer, 404, json.dumps(wire.error(404, f"no route for {req.method} {req.path}", None)).encode())
            return True
        if not req.key_ok:
            req.status, payload = wire.unauthorized()
            await _send(writer, req.status, json.dumps(payload).encode())
            return True
        if req.kind not in ("generate", "stream"):
            req.status, payload = wire.info(req.kind, req, self.models)
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            await _send(writer, req.status, data, "text/plain" if isinstance(payload, str) else "application/json")
            return True
        missing = wire.missing_model(req, self.models)
        if missing is not None:
            req.status = missing[0]
            await _send(writer, missing[0], json.dumps(missing[1]).encode())
            return True
        refused = wire.refuse(req)
        if refused is not None:
            req.status = refused[0]
            await _send(writer, refused[0], json.dumps(refused[1]).encode())
            return True
        reply = self._next_reply(req)
        watch = asyncio.ensure_future(reader.read(1))
        try:
            if reply.delay:
                await self._pause(req, watch, reply.delay)
            return await self._reply(req, reply, writer, watch)
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await watch

    async def _pause(self, req: RecordedRequest, watch: asyncio.Future[bytes], seconds: float) -> None:
        """Sleep, but notice a client that hangs up meanwhile."""
        done, _ = await asyncio.wait({watch}, timeout=seconds)
        if done and not watch.result():
            req.disconnected = True
            raise _HangupError

    async def _reply(self, req: RecordedRequest, reply: Reply, writer: asyncio.StreamWriter,
                     watch: asyncio.Future[bytes]) -> bool:
        wire = self.wire
        req.status = reply.status
        extra = dict(reply.headers)
        extra["request-id" if self.vendor == "anthropic" else "x-request-id"] = f"req_{id(req):x}"
        if reply.retry_after is not None:
            extra["retry-after"] = str(reply.retry_after)
        if reply.status >= 400:
            message = reply.error_message or _REASONS.get(reply.status, "error")
            retry = float(reply.retry_after) if isinstance(reply.retry_after, int | float) else None
            await _send(writer, reply.status, json.dumps(wire.error(reply.status, message, retry)).encode(), extra=extra)
            return True
        usage = self._usage(reply, req)
        if req.kind == "generate":
            data = reply.malformed.encode() if reply.malformed is not None else json.dumps(
                wire.answer(reply, req, usage)).encode()
            if reply.drop_after is not None:
                await _send_partial(writer, 200, data, extra)
                return False
            await _send(writer, 200, data, extra=extra)
            return True
        events = wire.stream(reply, req, usage)
        if reply.raw_events is not None:
            events = [(wire.malformed_event(e), True) for e in reply.raw_events]
        if reply.truncate:
            last_text = max((i for i, (_, has_text) in enumerate(events) if has_text), default=-1)
            events = events[: last_text + 1]
        if reply.malformed is not None:
            events.insert(0, (wire.malformed_event(reply.malformed), False))
        if reply.drop_before_end:
            events = events[:-1]
        drop_after = reply.drop_after
        if reply.stream_error is not None:
            # The error event replaces the (drop_after + 1)-th text chunk and what follows.
            texts = [i for i, (_, has_text) in enumerate(events) if has_text]
            n = drop_after or 0
            at = texts[n] if n < len(texts) else len(events)
            events = [*events[:at], (wire.stream_error_event(reply.stream_error), False)]
            drop_after = None
        head = ["HTTP/1.1 200 OK", f"content-type: {wire.stream_content_type}",
                "transfer-encoding: chunked", "cache-control: no-cache"]
        head += [f"{k}: {v}" for k, v in extra.items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        sent_text = 0
        for payload, has_text in events:
            if drop_after is not None and sent_text >= drop_after:
                await _drain(writer)
                writer.transport.abort()
                return False
            writer.write(b"%x\r\n%s\r\n" % (len(payload), payload))
            await _drain(writer)
            sent_text += has_text
            if reply.chunk_delay:
                await self._pause(req, watch, reply.chunk_delay)
            elif watch.done() and not watch.result():
                req.disconnected = True
                raise _HangupError
        if reply.drop_before_end:
            await _drain(writer)
            writer.transport.abort()
            return False
        writer.write(b"0\r\n\r\n")
        await _drain(writer)
        return True

    def _usage(self, reply: Reply, req: RecordedRequest) -> Usage:
        prompt = reply.input if reply.input is not None else estimate_tokens(request_text(req)) + reply.cache_read + reply.cache_write
        output = reply.output if reply.output is not None else len(reply.text_chunks()) + sum(
            estimate_tokens(reply.call_arguments(c)) for c in reply.tool_calls or ())
        return Usage(prompt, output, reply.cache_read, reply.cache_write)


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str], bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = [*lines[0].split(" ", 2), "", ""][:3]
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
    return method, target, headers, body


async def _drain(writer: asyncio.StreamWriter) -> None:
    try:
        await writer.drain()
    except ConnectionError as exc:
        raise _HangupError from exc


def _head(status: int, length: int, ctype: str, extra: dict[str, str] | None) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", f"content-type: {ctype}",
             f"content-length: {length}"]
    lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _send(writer: asyncio.StreamWriter, status: int, body: bytes, ctype: str = "application/json",
                extra: dict[str, str] | None = None) -> None:
    writer.write(_head(status, len(body), ctype, extra) + body)
    await _drain(writer)


async def _send_partial(writer: asyncio.StreamWriter, status: int, body: bytes, extra: dict[str, str]) -> None:
    """Promise the whole body, send half, hang up: a connection reset mid-answer."""
    writer.write(_head(status, len(body), "application/json", extra) + body[: len(body) // 2])
    await _drain(writer)
    writer.transport.abort()
