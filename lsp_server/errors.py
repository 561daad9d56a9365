"""One exception hierarchy for the whole engine.

Every error the engine raises on purpose derives from :class:`AgenticError`, so the CLI and the
LSP layer can turn any of them into one readable message instead of a traceback::

    AgenticError
    ├── ConfigError                 a setting has a bad value (names key, value, expectation)
    ├── IndexBuildError             the symbol index could not be built or read
    ├── ProviderError               a model call failed (names the provider; never the API key)
    │   ├── RetryableProviderError  429, 5xx, 529, connection reset, timeout: worth retrying
    │   │   └── RateLimitedError    carries the server's ``retry_after`` in seconds
    │   └── FatalProviderError      400/401/403/404, malformed body, broken stream: do not retry
    │       ├── AuthenticationError missing or rejected API key
    │       ├── ModelNotFoundError  unknown model (for Ollama: "ollama pull <model>")
    │       └── MalformedResponseError  body is not the vendor's format, or a stream broke midway
    ├── EditError                   a model's answer cannot become a safe edit
    │   ├── EditParseError          the text holds no well-formed edit
    │   ├── EditApplyError          an anchor matched nowhere or more than once
    │   └── UnsafeEditError         outside the workspace, an excluded file, or too large
    ├── RefusedError                the engine declined to make a call
    │   ├── BudgetExceededError     the daily or per-request budget would be exceeded
    │   ├── PrivacyRefusedError     the request may not leave the machine
    │   └── NoModelAvailableError   no configured model is reachable (says how to enable one)
    ├── StaleDocumentError          the buffer changed since the request; the edit is not applied
    ├── LedgerError                 the ledger cannot be read or written, or names no such request
    └── NotBuiltError               a feature that this version does not provide yet

What a failed model call is billed for travels on the :class:`ProviderError` itself, so the
router can record it (the ledger must agree with the vendor's invoice). ``usage`` is:

* the tokens the vendor reported for the failed call, when the wire carried them (a stream that
  reported usage before it broke, an error body with usage); ``usage_estimated`` is set when
  part of it is an estimate (a stream that broke before the vendor's final count: its output is
  at least the text already streamed);
* ``Usage()`` (measured, $0) for a refusal the vendors do not bill: an HTTP 4xx answer without
  usage (400, 401, 403, 404, 413, 429: the request was rejected before any generation), a
  connection that was never made, a call refused before any request (no API key);
* ``None`` (billing unknown, never priced as $0) for everything else: a 5xx answer (the server
  may have generated before failing), a read timeout, a connection that broke during the
  answer, a malformed or truncated body, an error reported inside a 200 answer.

A provider that retried before it gave up attaches the failed tries to the error it raises
(``tries``, each a ProviderError with its own ``latency_ms`` and ``usage``), as a completed
answer does on ``Completion.tries``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lsp_server.providers.base import Usage


class AgenticError(Exception):
    """Base of every error the engine raises deliberately."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(AgenticError):
    """A setting is missing, of the wrong type, or out of range."""

    def __init__(self, message: str, *, key: str | None = None, value: object = None) -> None:
        super().__init__(message)
        self.key = key
        self.value = value


class IndexBuildError(AgenticError):
    """The symbol index could not be built, read or updated."""


class ProviderError(AgenticError):
    """A model call failed. ``provider`` names the configured model, never its key.

    ``usage`` is what the failed call is billed for (None: unknown; see the module docstring),
    ``latency_ms`` how long the failed try took, and ``tries`` the earlier failed tries of the
    same call, oldest first, when the provider retried before giving up.
    """

    def __init__(self, message: str, *, provider: str = "", status: int | None = None,
                 usage: Usage | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status
        self.usage = usage
        self.usage_estimated = False
        self.latency_ms: float | None = None
        self.tries: tuple[ProviderError, ...] = ()

    def carry_accounting(self, other: ProviderError) -> None:
        """Take over what ``other`` knew about billing, timing and earlier tries (when this
        error replaces it)."""
        self.usage, self.usage_estimated = other.usage, other.usage_estimated
        self.latency_ms, self.tries = other.latency_ms, other.tries


class RetryableProviderError(ProviderError):
    """A transient failure: rate limit, overload, server error, reset connection, timeout."""


class RateLimitedError(RetryableProviderError):
    """The vendor asked us to slow down; ``retry_after`` is its hint in seconds, if any."""

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status: int | None = 429,
        retry_after: float | None = None,
        usage: Usage | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status, usage=usage)
        self.retry_after = retry_after


class FatalProviderError(ProviderError):
    """A failure that retrying will not fix."""


class AuthenticationError(FatalProviderError):
    """The API key is missing or was rejected."""


class ModelNotFoundError(FatalProviderError):
    """The endpoint does not know the model."""


class MalformedResponseError(FatalProviderError):
    """The body is not the vendor's format, or a stream ended before its final event."""


class EditError(AgenticError):
    """A model's answer cannot be turned into a safe edit."""


class EditParseError(EditError):
    """No well-formed edit could be read from the answer."""


class EditApplyError(EditError):
    """An edit's anchor matched nowhere, or more than once."""


class UnsafeEditError(EditError):
    """The edit targets a path outside the workspace, an excluded file, or is too large."""


class RefusedError(AgenticError):
    """The engine declined to make a model call."""


class BudgetExceededError(RefusedError):
    """The next call would exceed the daily or per-request budget."""


class PrivacyRefusedError(RefusedError):
    """The request's content may not be sent to any model that is available."""


class NoModelAvailableError(RefusedError):
    """No configured model is reachable; the message says how to enable one."""


class StaleDocumentError(AgenticError):
    """The document changed after the request was made, so its edit would land on other text."""


class LedgerError(AgenticError):
    """The ledger database cannot be opened, read or written, or a request id is unknown."""


class LedgerUnavailableError(LedgerError):
    """The ledger cannot be written now (locked by another process, read-only, disk full,
    damaged); the same write may succeed later."""


class NotBuiltError(AgenticError):
    """A feature this version does not provide yet; the message names it."""
