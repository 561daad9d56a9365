"""``python -m lsp_server`` runs the same command line as ``agentic-optimizer``."""

from __future__ import annotations

import sys

from lsp_server.cli import main

# Guarded: multiprocessing's forkserver and spawn re-import the main module in workers.
if __name__ == "__main__":
    sys.exit(main())
