"""The privacy filter: exclusion globs and detect-secrets redaction."""

from __future__ import annotations

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
