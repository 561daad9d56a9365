"""What an API key or access token looks like in free text, and masking it.

A key never belongs in an error message, a log line or the ledger, yet a vendor may echo one
back in an error body, a model may put one in a tool call's arguments, and a user may paste one
into an instruction. Every place that writes free text out of the process masks what matches
:data:`KEY_SHAPED`: provider errors (:func:`lsp_server.providers.http.scrub`), the ledger's
reasons, errors and tool-call summaries (:func:`lsp_server.ledger.free_text.scrub`), and every log
line (:func:`lsp_server.logs.setup_logging`). What is sent to a cloud model is filtered
separately, by the privacy settings (:mod:`lsp_server.context.privacy`).
"""

from __future__ import annotations

import re

KEY_SHAPED = re.compile(
    # OpenAI and Anthropic (sk-, sk-ant-, sk-proj-), sk_ style keys, Groq, xAI, Google
    r"\b(?:sk-|sk_|gsk_|xai-|AIza)[A-Za-z0-9*._\-]{12,}"
    # an Authorization header's token
    r"|(?i:\bbearer)\s+[A-Za-z0-9._\-]{16,}"
    # GitHub tokens
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}"
)


def mask_keys(text: str, mask: str = "***") -> str:
    """``text`` with everything key-shaped replaced by ``mask``."""
    return KEY_SHAPED.sub(mask, text)
