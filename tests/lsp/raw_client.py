"""A bare JSON-RPC client over the server's stdio, for traffic no well-behaved client sends.

pytest-lsp speaks typed, valid LSP; fuzzing needs to send anything at all (wrong types, unknown
methods, broken frames). :class:`RawClient` writes frames as given and reads the server's
messages on a thread. Requests from the server (progress tokens, applyEdit, configuration) are
answered with a plain success, as a simple editor would.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

SERVER_REQUEST_RESULTS: dict[str, Any] = {
    "window/workDoneProgress/create": None,
    "workspace/applyEdit": {"applied": False, "failureReason": "fuzzing client"},
    "workspace/configuration": [],
    "client/registerCapability": None,
    "window/showMessageRequest": None,
}


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class RawClient:
    """The server as a subprocess, and the messages it sent (see the module docstring)."""

    def __init__(self, root: Path, home: Path) -> None:
        env = {**os.environ, "AGENTIC_OPTIMIZER_HOME": str(home)}
        for key in ("GROQ_API_KEY", "GEMINI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
            env.pop(key, None)
        self.root = root
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lsp_server", "serve", "--log-file", str(home / "server.log")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        )
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.responses: dict[Any, dict[str, Any]] = {}
        self._next_id = 0
        self._write_lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    # -- writing ------------------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        with self._write_lock:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        self.send_raw(frame(json.dumps(message).encode("utf-8", "surrogatepass")))

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def notify(self, method: str, params: Any = None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any = None, timeout: float = 30.0) -> dict[str, Any]:
        """Send a request and wait for its response (a result or an error)."""
        msg_id = self.new_id()
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return self.wait_for(msg_id, timeout)

    def wait_for(self, msg_id: Any, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while msg_id not in self.responses:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no response to request {msg_id!r} in {timeout} s")
            try:
                self._take(self.messages.get(timeout=min(left, 0.5)))
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the server exited with {self.proc.returncode}") from None
        return self.responses.pop(msg_id)

    # -- reading ------------------------------------------------------------------------------

    def _take(self, message: dict[str, Any]) -> None:
        if "method" in message and "id" in message:  # a request from the server
            result = SERVER_REQUEST_RESULTS.get(message["method"])
            self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})
        elif "id" in message:
            self.responses[message["id"]] = message

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            if length is None:
                continue
            body = out.read(length)
            self.messages.put(json.loads(body))

    def close(self) -> None:
        try:
            self.request("shutdown", None, timeout=10)
            self.notify("exit")
            self.proc.wait(timeout=10)
        except Exception:  # already gone: make sure it is
            self.proc.kill()
            self.proc.wait(timeout=10)
