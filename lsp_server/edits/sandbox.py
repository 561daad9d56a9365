"""Run a checker or a project's tests: in their own process group, killed whole at a hard time
limit, stdin closed, and without network access where the OS allows it.

Network isolation uses a new network namespace (``unshare -rn``: an unprivileged user namespace
that maps the caller to root inside it, with only a loopback device). Whether it works is probed
once per process; where it does not (no ``unshare``, user namespaces disabled, not Linux) the
commands run with the network the server has, and :func:`isolation` says so for the reasons.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_PROBE_LOCK = threading.Lock()
_PROBED: list[list[str]] = []  # [] until probed; then [prefix] (possibly empty)


@dataclass(frozen=True)
class RunResult:
    """How a command ended: its exit code (None when killed at the time limit), its output."""

    code: int | None
    stdout: str
    stderr: str
    seconds: float

    @property
    def timed_out(self) -> bool:
        return self.code is None


def _probe() -> list[str]:
    if not sys.platform.startswith("linux"):
        return []
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    for prefix in ([unshare, "-rn"], [unshare, "-n"]):
        try:
            ok = subprocess.run([*prefix, "true"], capture_output=True, timeout=5, check=False,
                                stdin=subprocess.DEVNULL).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return prefix
    return []


def network_prefix() -> list[str]:
    """The argv prefix that cuts a command off the network here ([] when none works)."""
    with _PROBE_LOCK:
        if not _PROBED:
            _PROBED.append(_probe())
        return list(_PROBED[0])


def isolation() -> str:
    """One phrase for the reasons: how test runs are kept off the network here."""
    prefix = network_prefix()
    if prefix:
        return f"no network ({' '.join([Path(prefix[0]).name, *prefix[1:]])})"
    return "network not isolated (unshare unavailable here)"


def run_limited(argv: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None,
                *, offline: bool = False) -> RunResult:
    """Run ``argv`` in ``cwd``; at ``timeout`` seconds its whole process group is killed.

    ``offline`` runs it in a network namespace of its own when the OS allows it. Raises
    OSError when the program cannot be started.
    """
    full = [*network_prefix(), *argv] if offline else list(argv)
    start = time.perf_counter()
    proc = subprocess.Popen(
        full, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=max(0.1, timeout))
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        code = None
    return RunResult(code, out, err, time.perf_counter() - start)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    # The command's children (rustc, a test binary, pytest workers) share its group: killing
    # only the parent would leave a model-written infinite loop running.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
