"""Build llama.cpp's own OpenAI-compatible server, ``llama-server``, for the real-model tests and
``bench/local_model.py``, from the llama.cpp source that the ``llama-cpp-python`` source
distribution on PyPI carries whole (``vendor/llama.cpp``, ``tools/server`` included).

    python tests/llama_server_build.py            # build when missing; prints the binary's path
    python tests/llama_server_build.py --check    # print the path, or exit 1 when not built

The binary goes into the user cache directory (or ``AO_MODEL_CACHE``), keyed by the sdist's
version and the build flags, so a second run, and a CI run with a kept cache, reuses it. The
build is CPU only, Release, with portable flags (no ``-march=native``: a VM's CPU can advertise
instructions it does not enable), only the ``llama-server`` target, ``nice``d on two jobs.
Nothing is downloaded but the sdist, by pip, from the configured package index: the web UI is
neither built (no npm) nor fetched (``LLAMA_USE_PREBUILT_UI=OFF``), and HTTPS support, which
the loopback server does not need, is off (no OpenSSL headers needed).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import platformdirs

# The llama.cpp release the source distribution of this llama-cpp-python version vendors: the
# sdist is the only place on PyPI that carries llama.cpp's server source.
SDIST_VERSION = "0.3.36"
BINARY = "llama-server"
ENV_BINARY = "AO_LLAMA_SERVER"  # a llama-server built elsewhere, used as is

_COMMON_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",  # one self-contained binary, movable into the cache
    "-DGGML_NATIVE=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",  # otherwise the build downloads the UI from Hugging Face
    "-DLLAMA_OPENSSL=OFF",
    "-DGGML_CCACHE=OFF",
)
# The same portable x86 set as .ci/run gives llama-cpp-python's build: AVX2-era CPUs.
_X86_FLAGS = ("-DGGML_AVX=ON", "-DGGML_AVX2=ON", "-DGGML_FMA=ON", "-DGGML_F16C=ON",
              "-DGGML_BMI2=ON")


def cmake_flags() -> tuple[str, ...]:
    x86 = platform.machine().lower() in ("x86_64", "amd64")
    return _COMMON_FLAGS + (_X86_FLAGS if x86 else ())


def cache_dir() -> Path:
    return Path(os.environ.get("AO_MODEL_CACHE")
                or platformdirs.user_cache_dir("agentic-optimizer-tests", appauthor=False))


def binary_path() -> Path:
    """Where this version, built with these flags, lives (whether or not it is built yet)."""
    key = hashlib.sha256(" ".join((platform.machine(), *cmake_flags())).encode()).hexdigest()
    return cache_dir() / f"llama-server-{SDIST_VERSION}-{key[:10]}" / BINARY


def find_server() -> Path | None:
    """The llama-server to use: ``AO_LLAMA_SERVER`` when set, else the cached build, else None."""
    given = os.environ.get(ENV_BINARY)
    if given:
        return Path(given)
    built = binary_path()
    return built if built.is_file() and os.access(built, os.X_OK) else None


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One build at a time per cache directory (two test runs may start together)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".llama-server-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _run(what: str, cmd: list[str], log: Path) -> None:
    """Run one step with its output appended to the build log; a failure shows its end."""
    with open(log, "a") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-25:]
        raise SystemExit(f"{what} failed (exit {done.returncode}); the end of {log}:\n"
                         + "\n".join(tail))


def _sdist(into: Path, log: Path) -> Path:
    """The llama-cpp-python sdist, by pip (its HTTP cache makes a second download free)."""
    _run("pip download", [sys.executable, "-m", "pip", "download",
                          f"llama-cpp-python=={SDIST_VERSION}", "--no-deps", "--no-binary",
                          ":all:", "-d", str(into)], log)
    found = sorted(into.glob("llama_cpp_python-*.tar.gz"))
    if not found:
        raise SystemExit(f"pip download left no llama-cpp-python sdist in {into}")
    return found[0]


def _extract(archive: Path, into: Path) -> Path:
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    source = into / f"llama_cpp_python-{SDIST_VERSION}" / "vendor" / "llama.cpp"
    if not (source / "tools" / "server").is_dir():
        raise SystemExit(f"{archive.name} carries no vendor/llama.cpp/tools/server")
    return source


def build(jobs: int = 2) -> Path:
    """Build llama-server into the cache unless it is there; returns the binary's path."""
    target = binary_path()
    with _locked(cache_dir()):
        if target.is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        log = target.parent / "build.log"
        log.write_text("")
        with tempfile.TemporaryDirectory(prefix="llama-server-build-", dir=cache_dir()) as tmp:
            work = Path(tmp)
            source = _extract(_sdist(work / "dl", log), work / "src")
            out = work / "build"
            nice = ["nice", "-n", "10"] if shutil.which("nice") else []
            _run("cmake configure",
                 [*nice, "cmake", "-S", str(source), "-B", str(out), *cmake_flags()], log)
            _run("cmake build", [*nice, "cmake", "--build", str(out), "--target", BINARY,
                                 "-j", str(jobs)], log)
            built = out / "bin" / BINARY
            if not built.is_file():
                raise SystemExit(f"the build finished without {built}")
            partial = target.with_suffix(f".{os.getpid()}.part")
            shutil.copy2(built, partial)
            partial.replace(target)  # atomic: a concurrent reader never runs half a binary
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="only print the binary's path; exit 1 when it is not built")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="parallel compile jobs")
    args = parser.parse_args()
    if args.check:
        found = find_server()
        if found is None:
            raise SystemExit(f"llama-server is not built (expected at {binary_path()})")
        print(found)
        return
    if shutil.which("cmake") is None:
        raise SystemExit("building llama-server needs cmake and a C++ compiler "
                         "(Debian: apt-get install cmake g++)")
    print(build(args.jobs))


if __name__ == "__main__":
    main()
