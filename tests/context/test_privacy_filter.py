"""The privacy filter: exclusion globs and detect-secrets redaction."""

from __future__ import annotations

import logging

import pytest

from lsp_server.config import PrivacySettings, Settings
from lsp_server.context.privacy import PrivacyFilter


def test_default_exclusions_match_at_any_depth() -> None:
    f = PrivacyFilter.from_settings(Settings().privacy)
    for path in (".env", "app/.env", "deploy/.env.production", "certs/server.pem", "keys/id_rsa",
                 "secrets/db/password.txt", "aws_credentials.json"):
        assert f.is_excluded(path), path
    for path in ("src/main.rs", "pkg/envelope.py", "docs/identity.md"):
        assert not f.is_excluded(path), path


def test_user_globs() -> None:
    f = PrivacyFilter.from_settings(PrivacySettings(exclude=("internal/**", "*.sql")))
    assert f.is_excluded("internal/billing/rates.py")
    assert f.is_excluded("db/dump.sql")
    assert not f.is_excluded("src/main.rs")


def test_redacts_cloud_keys_passwords_tokens_and_private_key_blocks() -> None:
    text = "\n".join([
        "fn main() {",
        '    let aws = "AKIAIOSFODNN7EXAMPLE";',
        "}",
        'password = "hunter2-correct-horse"',
        'token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"',
        "-----BEGIN RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEAxyz",
        "q1w2e3r4t5y6",
        "-----END RSA PRIVATE KEY-----",
        "let after = 1;",
    ])
    out, n = PrivacyFilter().redact(text, filename="config.py")
    assert n >= 4
    for secret in ("AKIAIOSFODNN7EXAMPLE", "hunter2-correct-horse", "ghp_abcdef", "MIIEowIBAAKCAQEAxyz",
                   "q1w2e3r4t5y6"):
        assert secret not in out
    assert "[REDACTED:aws_access_key]" in out
    assert "[REDACTED:private_key]" in out
    assert out.splitlines()[0] == "fn main() {"
    assert out.splitlines()[-1] == "let after = 1;"


def test_ordinary_code_is_left_alone() -> None:
    code = 'def area(self) -> float:\n    """The area."""\n    return math.pi * self.radius ** 2\n'
    out, n = PrivacyFilter().redact(code, filename="shapes.py")
    assert (out, n) == (code, 0)


def test_redaction_can_be_disabled() -> None:
    text = 'password = "hunter2-correct-horse"'
    assert PrivacyFilter(redact_secrets=False).redact(text) == (text, 0)


class _BrokenDetector:
    """A detect-secrets plugin with a bug: it raises on every line."""

    def analyze_line(self, **kwargs: object) -> list[object]:
        raise RuntimeError("detector bug")


def test_a_failing_detector_withholds_the_line_and_logs_once(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from lsp_server.context import privacy

    monkeypatch.setattr(privacy, "_PLUGINS", [*privacy._plugins(), _BrokenDetector()])
    monkeypatch.setattr(privacy, "_FAILURES_LOGGED", set())
    monkeypatch.setattr(privacy, "_LINE_CACHE", {})
    text = "\n".join(["db_url = 'postgres://broken-detector-1'", "",
                      "api_hint = 'broken-detector-2'", "value = compute(3)  # broken-detector-3"])
    with caplog.at_level(logging.WARNING, logger="lsp_server.context.privacy"):
        out, n = PrivacyFilter().redact(text, filename="settings.py")
        again, _ = PrivacyFilter().redact(text, filename="settings.py")
    assert "broken-detector" not in out and out == again
    assert out.split("\n") == [privacy.UNCHECKED, "", privacy.UNCHECKED, privacy.UNCHECKED]
    assert n == 3
    warnings = [r for r in caplog.records if "_BrokenDetector" in r.getMessage()]
    assert len(warnings) == 1 and "RuntimeError" in warnings[0].getMessage()
    assert "broken-detector" not in caplog.text  # the line itself is never logged
