"""Typed settings: defaults, ``agentic-optimizer.toml``, LSP options and environment variables.

Precedence, lowest first: built-in defaults, the TOML file (``agentic-optimizer.toml`` in the
workspace root, or ``--config PATH``), LSP ``initializationOptions``, then
``workspace/didChangeConfiguration``. Editors send camelCase keys (``escalateBelow``); they map
onto the same snake_case settings as the TOML file. API keys are never settings: a model names
the environment variable that holds its key (``api_key_env``) and :func:`api_key` reads it.

A bad value raises :class:`~lsp_server.errors.ConfigError` whose message names the key, the
value and what was expected, e.g. ``routing.escalate_below = 2.0: expected a number from 0 to 1``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from lsp_server.errors import ConfigError

CONFIG_FILENAME = "agentic-optimizer.toml"
ENV_HOME = "AGENTIC_OPTIMIZER_HOME"
ENV_CONFIG = "AGENTIC_OPTIMIZER_CONFIG"

ProviderKind = Literal["ollama", "anthropic", "openai", "gemini"]
Tier = Literal["local", "free", "budget", "premium"]
TIERS: tuple[Tier, ...] = ("local", "free", "budget", "premium")

DEFAULT_BASE_URLS: dict[str, str] = {
    "ollama": "http://127.0.0.1:11434",
    "anthropic": "https://api.anthropic.com",
    "openai": "https://api.openai.com/v1",
    "gemini": "https://generativelanguage.googleapis.com",
}
DEFAULT_KEY_ENV: dict[str, str | None] = {
    "ollama": None,
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
    "gemini": "GEMINI_API_KEY",
}
DEFAULT_EXCLUDE: tuple[str, ...] = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_*",
    "*credentials*",
    "*secret*",
    ".netrc",
    ".npmrc",
    ".pypirc",
    "secrets/**",
)


class _Section(BaseModel):
    """Shared model behaviour: frozen, unknown keys rejected, camelCase accepted."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        validate_default=True,
    )


class PriceOverride(_Section):
    """USD per million tokens, for a model that genai-prices does not know."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cache_read: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)


class ModelSettings(_Section):
    """One model the router may call."""

    name: str = Field(min_length=1)
    provider: ProviderKind
    model: str = Field(min_length=1)
    tier: Tier
    base_url: str | None = None
    api_key_env: str | None = None
    context_window: int | None = Field(default=None, gt=0)
    timeout_seconds: float = Field(default=120.0, gt=0)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    max_output_tokens: int = Field(default=2048, gt=0)
    temperature: float = Field(default=0.0, ge=0, le=2)
    keep_alive: str | None = "30m"  # Ollama: how long the model stays loaded after a call
    edit_format: Literal["search_replace", "whole_definition"] | None = None
    # How the model is offered tools (routing.max_tool_turns): "native" tool calling, the
    # plain-text protocol, or "auto": native for Anthropic, Gemini, remote OpenAI-compatible
    # APIs and Ollama models that take tools; no tools for the rest (a local server's tool
    # support depends on how it was started; a small model rarely uses the text protocol).
    tool_format: Literal["auto", "native", "text"] = "auto"
    price: PriceOverride | None = None

    @property
    def effective_base_url(self) -> str:
        return (self.base_url or DEFAULT_BASE_URLS[self.provider]).rstrip("/")

    @property
    def effective_key_env(self) -> str | None:
        return self.api_key_env or DEFAULT_KEY_ENV[self.provider]

    @property
    def effective_edit_format(self) -> str:
        if self.edit_format:
            return self.edit_format
        return "whole_definition" if self.tier == "local" else "search_replace"


def _local(seconds: float) -> dict[Tier, float]:
    return {"local": seconds}


class RoutingSettings(_Section):
    escalate_below: float = Field(default=0.85, ge=0, le=1)
    tier_order: tuple[Tier, ...] = TIERS
    max_attempts: int = Field(default=4, ge=1, le=16)
    cooldown_seconds: float = Field(default=60.0, ge=0)
    failures_before_cooldown: int = Field(default=3, ge=1)
    # Latency budget per tier, in seconds: an answer whose first token has not arrived within
    # first_token_timeout_s, or that has not ended within tier_timeout_s, is stopped and the
    # cascade escalates. Only the local tier has a default: a CPU model that is slow is
    # usually also wrong, and the next tier answers sooner.
    first_token_timeout_s: dict[Tier, float] = Field(default_factory=lambda: _local(10.0))
    tier_timeout_s: dict[Tier, float] = Field(default_factory=lambda: _local(30.0))
    # The tool loop (see README, "Tools"): how many tool turns one attempt may take (0: no
    # tools offered) and how many tokens (every turn's prompt and answer) it may spend.
    max_tool_turns: int = Field(default=3, ge=0, le=16)
    max_attempt_tokens: int = Field(default=32000, ge=1000)
    # A model of this tier grades prose answers from cheaper tiers in a few tokens before they
    # are accepted (see README, "The judge"); None: no judge.
    judge_tier: Tier | None = None

    @field_validator("first_token_timeout_s", "tier_timeout_s")
    @classmethod
    def _positive(cls, v: dict[Tier, float]) -> dict[Tier, float]:
        if any(x <= 0 for x in v.values()):
            raise ValueError("expected a positive number of seconds per tier")
        return v

    @field_validator("tier_order")
    @classmethod
    def _distinct(cls, v: tuple[Tier, ...]) -> tuple[Tier, ...]:
        if len(set(v)) != len(v) or not v:
            raise ValueError("expected a non-empty list of distinct tiers")
        return v


class BudgetSettings(_Section):
    daily_usd: float = Field(default=1.0, ge=0)
    per_request_usd: float | None = Field(default=None, ge=0)
    # The whole team's daily cap, held in the shared ledger (``ledger.url``): every paid call
    # reserves its estimate there before it is sent. None: no team cap.
    team_daily_usd: float | None = Field(default=None, ge=0)


class PrivacySettings(_Section):
    local_only: bool = False
    local_only_paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    redact_secrets: bool = True


class ContextSettings(_Section):
    budget_tokens: int = Field(default=8000, ge=256)
    max_file_bytes: int = Field(default=1_000_000, ge=1024)
    # A workspace opened at a home directory must not index every checkout below it: the
    # walk keeps the source files nearest the root, up to this many.
    max_files: int = Field(default=10_000, ge=1)
    # Embedding similarity from a local Ollama embedding model (code never leaves the
    # machine for it); the URL defaults to the first ``ollama`` model's, else $OLLAMA_HOST.
    embeddings: bool = False
    embedding_model: str = Field(default="nomic-embed-text", min_length=1)
    embedding_base_url: str | None = None
    embedding_timeout_ms: int = Field(default=2000, ge=50)


class HoverSettings(_Section):
    enabled: bool = True
    explain: bool = True
    # Explanations use local models only unless this is on: with it, a hover with no local
    # model is a paid cloud call for every newly hovered symbol.
    paid_tiers: bool = False
    timeout_ms: int = Field(default=1500, ge=0)


class CacheSettings(_Section):
    enabled: bool = True
    ttl_seconds: int = Field(default=7 * 24 * 3600, ge=0)
    max_entries: int = Field(default=5000, ge=0)
    # Keep responses in the shared ledger's database (``ledger.url``), so the team's machines
    # answer each other's repeats; entries stay within ``ledger.team``.
    shared: bool = False


_TEST_BUDGETS: dict[Tier, float] = {"local": 30.0, "free": 45.0, "budget": 60.0, "premium": 90.0}


class EditsSettings(_Section):
    check_command: str | None = None
    check_timeout_seconds: float = Field(default=60.0, gt=0)
    max_edit_bytes: int = Field(default=200_000, gt=0)
    # Related tests run before and after an edit, in the shadow copy, within the answering
    # tier's budget (seconds, both runs together); off, an edit is judged without them.
    run_tests: bool = True
    test_budget_seconds: dict[Tier, float] = Field(default_factory=lambda: dict(_TEST_BUDGETS))

    @field_validator("test_budget_seconds")
    @classmethod
    def _positive_budgets(cls, v: dict[Tier, float]) -> dict[Tier, float]:
        if any(seconds < 0 for seconds in v.values()):
            raise ValueError("expected seconds >= 0 for each tier")
        return v

    def test_budget(self, tier: str | None) -> float:
        """The related-test budget of ``tier`` (an unknown or missing tier: the largest)."""
        if tier in self.test_budget_seconds:
            return self.test_budget_seconds[tier]
        return max(self.test_budget_seconds.values(), default=60.0)


class LedgerSettings(_Section):
    store_prompts: bool = False
    # A shared ledger (PostgreSQL) for a team: ``url`` itself, or the name of the environment
    # variable that holds it (``url_env``, so credentials stay out of settings files). Neither:
    # the SQLite file in the state directory.
    url: str | None = None
    url_env: str | None = None
    user: str | None = None  # who the rows are attributed to; None: the OS user
    team: str = Field(default="default", min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")


# How prompts ask models to answer: ``standard``, or ``terse`` (no commentary around the answer,
# prose in at most three sentences), so an A/B variant can measure what shorter answers save.
PromptStyle = Literal["standard", "terse"]


class VariantSettings(_Section):
    """A named A/B variant: requests are assigned by hash with these weights."""

    name: str = Field(min_length=1)
    weight: float = Field(default=1.0, gt=0)
    escalate_below: float | None = Field(default=None, ge=0, le=1)
    prompt_style: PromptStyle | None = None  # None: standard


class LogSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    file: str | None = None


class Settings(_Section):
    """Every setting the engine reads. Missing keys take the defaults shown here."""

    models: tuple[ModelSettings, ...] = ()
    routing: RoutingSettings = RoutingSettings()
    budget: BudgetSettings = BudgetSettings()
    privacy: PrivacySettings = PrivacySettings()
    context: ContextSettings = ContextSettings()
    hover: HoverSettings = HoverSettings()
    cache: CacheSettings = CacheSettings()
    edits: EditsSettings = EditsSettings()
    ledger: LedgerSettings = LedgerSettings()
    variants: tuple[VariantSettings, ...] = ()
    log: LogSettings = LogSettings()
    state_dir: str | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        for label, names in (
            ("models", [m.name for m in self.models]),
            ("variants", [v.name for v in self.variants]),
        ):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{label}: names must be unique, repeated: {', '.join(dupes)}")
        return self

    @model_validator(mode="after")
    def _shared_cache_needs_a_shared_ledger(self) -> Settings:
        if self.cache.shared and not (self.ledger.url or self.ledger.url_env):
            raise ValueError("cache.shared = true needs a shared ledger: set ledger.url or "
                             "ledger.url_env")
        return self

    def model_named(self, name: str) -> ModelSettings | None:
        return next((m for m in self.models if m.name == name), None)


def _describe(error: Mapping[str, Any]) -> str:
    loc = _snake_path(error.get("loc", ()))
    kind = str(error.get("type", ""))
    value = error.get("input")
    msg = str(error.get("msg", "invalid"))
    if kind == "extra_forbidden":
        return f"{loc}: unknown setting"
    if kind == "missing":
        return f"{loc}: required setting is missing"
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    expected = msg[0].lower() + msg[1:] if msg else "a valid value"
    expected = expected.removeprefix("value error, ").replace("input should be", "expected")
    return f"{loc} = {shown}: {expected}" if loc else f"{expected}"


def _snake_path(loc: Any) -> str:
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            parts[-1:] = [f"{parts[-1]}[{p}]"] if parts else [f"[{p}]"]
        else:
            parts.append(_to_snake(str(p)))
    return ".".join(parts)


def _to_snake(name: str) -> str:
    out = []
    for ch in name:
        if ch.isupper():
            out.append("_" + ch.lower())
        else:
            out.append(ch)
    return "".join(out)


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        skey = _to_snake(key)
        if isinstance(value, Mapping) and isinstance(merged.get(skey), dict):
            merged[skey] = _deep_merge(merged[skey], value)
        else:
            merged[skey] = _normalise(value)
    return merged


def _normalise(value: Any) -> Any:
    """Turn camelCase keys of nested tables (and tables inside lists) into snake_case."""
    if isinstance(value, Mapping):
        return {_to_snake(str(k)): _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    return value


def parse_settings(*layers: Mapping[str, Any] | None) -> Settings:
    """Build settings from layers of raw mappings, later layers overriding earlier ones.

    Keys may be snake_case (TOML) or camelCase (editors). Raises ConfigError on the first bad value.
    """
    merged: dict[str, Any] = {}
    for layer in layers:
        if layer:
            if not isinstance(layer, Mapping):
                raise ConfigError(f"settings: expected a table of settings, got {type(layer).__name__}")
            merged = _deep_merge(merged, layer)
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        errors = exc.errors()
        lines = [_describe(e) for e in errors]
        first: Mapping[str, Any] = errors[0] if errors else {}
        raise ConfigError(
            "invalid settings: " + "; ".join(lines),
            key=_snake_path(first.get("loc", ())) or None,
            value=first.get("input"),
        ) from None


def read_toml(path: Path) -> dict[str, Any]:
    """Read a settings file; a syntax or encoding error names the file and line."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: settings file not found", key=None, value=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}: line {line} is not UTF-8 (byte 0x{exc.object[exc.start]:02x}); "
                          "TOML files are UTF-8: save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read settings file: {exc.strerror}") from None


def find_config_file(root: Path | None, explicit: Path | None = None) -> Path | None:
    """The settings file in force: ``--config``, ``$AGENTIC_OPTIMIZER_CONFIG``, or the root's."""
    if explicit is not None:
        return explicit
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env)
    if root is not None:
        candidate = root / CONFIG_FILENAME
        if candidate.is_file():
            return candidate
    return None


def load_settings(
    root: Path | None = None,
    *,
    config_path: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Defaults, then the settings file (if any), then ``overrides`` (e.g. LSP options)."""
    path = find_config_file(root, config_path)
    file_layer = read_toml(path) if path is not None else {}
    return parse_settings(file_layer, overrides)


def api_key(model: ModelSettings, environ: Mapping[str, str] | None = None) -> str | None:
    """The model's API key from its environment variable, or None. Never logged or stored."""
    env_name = model.effective_key_env
    if env_name is None:
        return None
    value = (environ if environ is not None else os.environ).get(env_name, "").strip()
    return value or None


def redacted(settings: Settings) -> dict[str, Any]:
    """Settings as plain data for display. Keys are never settings, so nothing secret is here,
    but base URLs may carry credentials (``https://user:pass@host``): those are masked."""
    data = settings.model_dump(mode="json")
    for model in data.get("models", []):
        url = model.get("base_url")
        if isinstance(url, str) and "@" in url.split("//", 1)[-1].split("/", 1)[0]:
            scheme, rest = url.split("//", 1) if "//" in url else ("", url)
            model["base_url"] = f"{scheme}//***@{rest.split('@', 1)[1]}"
    ledger = data.get("ledger", {})
    if isinstance(ledger.get("url"), str):  # a shared ledger's URL may hold a password
        from lsp_server.ledger.identity import redact

        ledger["url"] = redact(ledger["url"])
    return data


class SettingsSource:
    """The one current :class:`Settings` of a running server or command.

    Components keep the source, not a copy of the settings, and read :attr:`current` when they
    act (a refresh reads the file limits, a call reads the budget), so a change from the editor
    applies everywhere at once without being pushed into each holder. Only the front end that
    loads settings calls :meth:`replace`. Listeners are for the few parts that must do
    something when settings change (close a client whose model was removed, tell a child
    process); they run on the replacing thread.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings if settings is not None else Settings()
        self._listeners: list[Callable[[Settings, Settings], None]] = []

    @classmethod
    def of(cls, settings: Settings | SettingsSource | None) -> SettingsSource:
        """A source for ``settings``: the source itself, or a new one holding fixed settings
        (commands and tests that never change them)."""
        return settings if isinstance(settings, SettingsSource) else cls(settings)

    @property
    def current(self) -> Settings:
        return self._settings

    def replace(self, settings: Settings) -> None:
        old, self._settings = self._settings, settings
        for listener in list(self._listeners):
            listener(old, settings)

    def subscribe(self, listener: Callable[[Settings, Settings], None]) -> None:
        """Call ``listener(old, new)`` after each :meth:`replace`."""
        self._listeners.append(listener)
