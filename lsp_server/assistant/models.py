"""The models a workspace routes over: which ones, their clients, their health and prices.

Exactly the configured models when the settings list any, else those discovered from the
environment (a running Ollama, API keys). Clients are created on first use and kept; when the
settings change the list of models, the old clients are closed and prices are looked up again
in the background, so action titles can show a cost without waiting for the price snapshot.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from lsp_server.config import ModelSettings, Settings, SettingsSource, Tier
from lsp_server.ledger.prices import DEFAULT_PREMIUM, PriceBook, runs_locally
from lsp_server.providers.base import Provider, Usage
from lsp_server.routing.health import Health

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Rates:
    """USD per token for a model, computed once (pricing loads a snapshot on first use)."""

    input: float
    output: float


class ModelPool:
    """The models, their provider clients, health and prices (see the module docstring)."""

    def __init__(self, settings: SettingsSource, environ: Mapping[str, str] | None = None) -> None:
        self._settings = settings
        self._environ = environ
        self._lock = threading.Lock()
        self._models: tuple[ModelSettings, ...] | None = settings.current.models or None
        self._providers: dict[str, Provider] = {}
        self._rates: dict[str, _Rates | None] = {}
        routing = settings.current.routing
        self.health = Health(routing.failures_before_cooldown, routing.cooldown_seconds)
        self.prices = PriceBook(settings)
        self._closing: set[asyncio.Task[None]] = set()
        settings.subscribe(self._settings_changed)
        self._warm_up_later()

    # -- which models ------------------------------------------------------------------------

    def models(self) -> tuple[ModelSettings, ...]:
        """The models routed over: exactly the configured ones, else those discovered."""
        models = self._models
        if models is not None:
            return models
        from lsp_server.providers.discovery import discover

        # Discovery probes the network: not under the lock, which provider() and a settings
        # change take (a caller never waits for another caller's probe).
        found = discover(self._settings.current, self._environ)
        with self._lock:
            if self._models is None:
                self._models = found
            return self._models

    def known_models(self) -> tuple[ModelSettings, ...]:
        """The models known without discovering any (for instant answers such as titles)."""
        return self._models if self._models is not None else self._settings.current.models

    def discovery_pending(self) -> bool:
        """Whether no model is configured and discovery has not answered yet."""
        return self._models is None

    def premium_model(self) -> ModelSettings:
        """The premium model the router would use: the first ``premium`` model routed over
        (configured or discovered), else the reference model the savings are measured against
        when there is none (:data:`~lsp_server.ledger.prices.DEFAULT_PREMIUM`)."""
        return next((m for m in self.models() if m.tier == "premium"), DEFAULT_PREMIUM)

    def has_tier_above(self, models: tuple[ModelSettings, ...], start: Tier,
                       allowed: frozenset[Tier]) -> bool:
        """Whether the cascade could escalate from ``start``: an allowed tier above it has a model."""
        order = list(self._settings.current.routing.tier_order)
        above = order[order.index(start) + 1:] if start in order else order
        return any(m.tier in above and m.tier in allowed for m in models)

    def first_model(self, models: tuple[ModelSettings, ...], start: Tier,
                    allowed: frozenset[Tier]) -> ModelSettings | None:
        """The model the cascade would try first: from ``start`` upward, then downward."""
        order = list(self._settings.current.routing.tier_order)
        begin = order.index(start) if start in order else 0
        for tier in [*order[begin:], *reversed(order[:begin])]:
            if tier not in allowed:
                continue
            for m in models:
                if m.tier == tier and self.health.available(m.name):
                    return m
        return None

    def provider(self, model: ModelSettings) -> Provider:
        """The client for ``model``, created on first use."""
        with self._lock:
            provider = self._providers.get(model.name)
            if provider is None:
                from lsp_server.providers import make_provider

                provider = make_provider(model, self._environ)
                self._providers[model.name] = provider
            return provider

    # -- prices ------------------------------------------------------------------------------

    def cost(self, model: ModelSettings, usage: Usage) -> float | None:
        return self.prices.cost(model, usage)

    def quick_cost(self, model: ModelSettings, tokens_in: int, tokens_out: int) -> float | None:
        """A cost from rates looked up in the background: instant, None until they are known."""
        if runs_locally(model) and model.price is None:
            return 0.0
        rates = self._rates.get(model.name)
        return None if rates is None else rates.input * tokens_in + rates.output * tokens_out

    def _warm_up_later(self) -> None:
        threading.Thread(target=self._warm_up, name="assistant-warm-up", daemon=True).start()

    def _warm_up(self) -> None:
        """Discover models and price them off the request path (estimates must be instant)."""
        try:
            for model in (*self.models(), self.premium_model()):
                self._rates[model.name] = self._rate_of(model)
        except Exception:  # warm-up is an optimisation; the request path reports real errors
            log.debug("price warm-up failed", exc_info=True)

    def _rate_of(self, model: ModelSettings) -> _Rates | None:
        # A request-sized probe: some vendors charge more per token above 200k input tokens.
        probe = 10_000
        cost_in = self.prices.cost(model, Usage(input=probe))
        cost_out = self.prices.cost(model, Usage(output=probe))
        if cost_in is None or cost_out is None:
            return None
        return _Rates(cost_in / probe, cost_out / probe)

    # -- settings and closing ----------------------------------------------------------------

    def _settings_changed(self, old: Settings, new: Settings) -> None:
        self.health.failures_before_cooldown = new.routing.failures_before_cooldown
        self.health.cooldown_seconds = new.routing.cooldown_seconds
        if new.models == old.models:
            return
        with self._lock:
            self._models = new.models or None
            stale, self._providers = list(self._providers.values()), {}
            self._rates = {}
        self._close_later(stale)
        self._warm_up_later()

    def _close_later(self, providers: list[Provider]) -> None:
        """Close replaced clients on the running loop, if there is one."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        for provider in providers:
            task = loop.create_task(provider.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        with self._lock:
            providers, self._providers = list(self._providers.values()), {}
        for provider in providers:
            try:
                await provider.aclose()
            except Exception:  # closing must not mask the shutdown
                log.debug("closing %s failed", provider, exc_info=True)
