"""``python -m lsp_server`` runs the same command line as ``agentic-optimizer``."""

from __future__ import annotations

import sys

from lsp_server.cli import main

sys.exit(main())
