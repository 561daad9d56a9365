"""Privacy policy for one request: whether it must stay on the local tier, and why.

``privacy.local_only`` keeps every request local; ``privacy.local_only_paths`` and the privacy
exclude list keep a request about a matching file local (its text would be in the prompt).
A request that may not pay for a model (``AssistRequest.paid_tiers`` off, as for hover
explanations by default) is kept local the same way.
Read from the current settings at each question, so a change in the editor applies at once.
"""

from __future__ import annotations

import pathspec

from lsp_server.config import Settings, SettingsSource, Tier
from lsp_server.context.privacy import PrivacyFilter


class PrivacyPolicy:
    """Answers the privacy questions the pipeline asks (see the module docstring)."""

    def __init__(self, settings: SettingsSource) -> None:
        self._settings = settings
        self._compiled_for: Settings | None = None
        self._filter: PrivacyFilter
        self._local_paths: pathspec.GitIgnoreSpec | None = None
        self._compile(settings.current)

    def _compiled(self) -> tuple[PrivacyFilter, pathspec.GitIgnoreSpec | None]:
        settings = self._settings.current
        if settings is not self._compiled_for:
            self._compile(settings)
        return self._filter, self._local_paths

    def _compile(self, settings: Settings) -> None:
        privacy = settings.privacy
        self._filter = PrivacyFilter.from_settings(privacy)
        self._local_paths = (pathspec.GitIgnoreSpec.from_lines(privacy.local_only_paths)
                             if privacy.local_only_paths else None)
        self._compiled_for = settings

    @property
    def filter(self) -> PrivacyFilter:
        """The filter that redacts secrets and drops excluded files from cloud prompts."""
        return self._compiled()[0]

    def local_only(self, rel: str | None) -> str | None:
        """Why a request about ``rel`` must stay on the local tier, or None."""
        if self._settings.current.privacy.local_only:
            return "privacy.local_only is set: the request stays on the local tier"
        if rel is None:
            return None
        privacy_filter, local_paths = self._compiled()
        if local_paths is not None and local_paths.match_file(rel):
            return f"{rel} matches privacy.local_only_paths: the request stays on the local tier"
        if privacy_filter.is_excluded(rel):
            return f"{rel} is excluded by the privacy settings: the request stays on the local tier"
        return None

    def allowed_tiers(self, rel: str | None, *, paid: bool = True) -> frozenset[Tier]:
        """The tiers a request about ``rel`` may use; ``paid`` False keeps it local."""
        if not paid or self.local_only(rel) is not None:
            return frozenset({"local"})
        return frozenset(self._settings.current.routing.tier_order)
