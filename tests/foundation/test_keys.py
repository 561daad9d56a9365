"""Key-shaped text is masked the same way wherever free text leaves the process: provider
errors, the ledger, and every log line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from lsp_server.keys import mask_keys
from lsp_server.ledger.free_text import scrub as ledger_scrub
from lsp_server.logs import setup_logging
from lsp_server.providers.http import scrub as provider_scrub

KEYS = [
    "sk-proj-4f9aQ2mZ7xYb1c8D0eF3gH5iJ",  # OpenAI project key
    "sk-ant-api03-AbCdEfGhIjKlMnOpQr",  # Anthropic
    "sk_live_51HAbCdEfGhIjKlMn",  # sk_ style
    "gsk_AbCdEfGhIjKlMnOpQrSt",  # Groq
    "xai-AbCdEfGhIjKlMnOpQrSt",  # xAI
    "AIzaSyA1b2C3d4E5f6G7h8I9j0K",  # Google
    "ghp_AbCdEfGhIjKlMnOpQrStUvWx",  # GitHub
]


@pytest.mark.parametrize("key", KEYS)
def test_every_vendor_key_shape_is_masked_in_errors_and_the_ledger(key: str) -> None:
    text = f"upstream said: invalid key {key} (check it)"
    assert key not in provider_scrub(text) and "***" in provider_scrub(text)
    assert key not in ledger_scrub(text) and "[redacted]" in ledger_scrub(text)
    assert mask_keys(text).startswith("upstream said: invalid key ")


def test_a_bearer_token_is_masked() -> None:
    assert mask_keys("Authorization: Bearer abcdefghijklmnop1234") == "Authorization: ***"


@pytest.mark.parametrize("text", [
    "skeleton_function_name", "task_runner", "the risk-free path", "ask-for-help", "AIza",
    "sk-short", "bearer of bad news", "gh_pages",
])
def test_ordinary_words_and_identifiers_are_left_alone(text: str) -> None:
    assert mask_keys(text) == text


def test_a_log_line_never_carries_a_key(tmp_path: Path) -> None:
    log_file = tmp_path / "server.log"
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        setup_logging("info", log_file)
        log = logging.getLogger("lsp_server.test")
        log.info("calling with %s", KEYS[0])
        try:
            raise RuntimeError(f"refused {KEYS[1]}")
        except RuntimeError:
            log.exception("call failed")
        for handler in root.handlers:
            handler.flush()
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    written = log_file.read_text()
    assert "calling with ***" in written and "call failed" in written and "RuntimeError" in written
    assert not any(key in written for key in KEYS)
