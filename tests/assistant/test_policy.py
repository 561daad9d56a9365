"""Privacy policy: which requests stay on the local tier, read from the current settings."""

from __future__ import annotations

from lsp_server.assistant.policy import PrivacyPolicy
from lsp_server.config import SettingsSource, parse_settings


def test_local_only_paths_and_excluded_files_keep_a_request_local() -> None:
    source = SettingsSource(parse_settings({"privacy": {"local_only_paths": ["vendor/**"]}}))
    policy = PrivacyPolicy(source)
    assert policy.local_only(None) is None
    assert policy.allowed_tiers("src/lib.rs") == frozenset({"local", "free", "budget", "premium"})
    reason = policy.local_only("vendor/x/lib.rs")
    assert reason is not None and "privacy.local_only_paths" in reason
    assert policy.allowed_tiers("vendor/x/lib.rs") == frozenset({"local"})
    excluded = policy.local_only(".env")
    assert excluded is not None and "excluded by the privacy settings" in excluded
    assert policy.filter.is_excluded("keys/id_rsa")


def test_a_settings_change_applies_to_the_next_question() -> None:
    source = SettingsSource(parse_settings({}))
    policy = PrivacyPolicy(source)
    assert policy.local_only("src/lib.rs") is None
    source.replace(parse_settings({"privacy": {"local_only": True}}))
    assert policy.allowed_tiers("src/lib.rs") == frozenset({"local"})
    source.replace(parse_settings({"privacy": {"exclude": ["src/**"]}}))
    assert policy.local_only("src/lib.rs") is not None
    assert policy.local_only(".env") is None  # the user's list replaced the defaults
