"""A throwaway PostgreSQL cluster on a loopback port, for the shared-ledger tests and the bench.

Debian's server binaries live off PATH (``pg_config --bindir``). Run as root, the cluster runs
as the ``postgres`` user (``runuser``) in a temporary directory it owns; run as anyone else, as
that user. ``fsync`` is off: the data is thrown away. Without the binaries the tests skip, unless
``AO_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) makes that a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REQUIRE_ENV = "AO_REQUIRE_POSTGRES"


def bindir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are, or None."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            candidates.append(Path(out.stdout.strip()))
    candidates.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True))
    for found in candidates:
        if (found / "initdb").exists() and (found / "pg_ctl").exists():
            return found
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """One cluster: :meth:`start`, :meth:`stop`, :attr:`url`, :meth:`new_database`."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.as_postgres = os.geteuid() == 0
        self.dir = Path(tempfile.mkdtemp(prefix="ao-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--locale=C", "-E", "UTF8", "--no-sync")

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin / tool), *args]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=self.dir)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stderr.strip() or done.stdout.strip()}")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"),
                  "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def new_database(self, name: str) -> str:
        """A fresh database ``name``; its URL."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        return self.url_for(name)

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def start_cluster() -> Cluster:
    """A started cluster, or skip (fail under ``AO_REQUIRE_POSTGRES=1``)."""
    found = bindir()
    if found is None:
        message = "PostgreSQL server binaries not found (apt-get install postgresql)"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(message)
        pytest.skip(message)
    cluster = Cluster(found)
    cluster.start()
    return cluster


def wait_until(predicate: object, timeout: float = 30.0) -> bool:
    """Poll ``predicate`` (a callable) until it is true or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return True
        time.sleep(0.05)
    return False
