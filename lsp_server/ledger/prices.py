"""What a call cost, in USD: settings overrides first, then the genai-prices snapshot.

``genai-prices`` ships a versioned price snapshot inside the package, so pricing works offline
(nothing here asks it to fetch updates). It expects the *total-input* convention, the same one
:class:`~lsp_server.providers.base.Usage` uses: ``input_tokens`` counts every prompt token, and
``cache_read_tokens`` / ``cache_write_tokens`` say which of them were cache reads and writes; it
prices the uncached remainder at the input rate.

Free means one of three things, and nothing else: tier ``local``, the ``ollama`` provider, or an
explicit ``price`` of 0. A loopback address is not one of them: a cloud provider kind reached
through a proxy or gateway on ``localhost`` (a LiteLLM proxy, a corporate gateway) is billed by
the vendor behind it, so it is priced by its model name like any other. A model neither
overridden nor known to genai-prices is *unpriced*: :meth:`PriceBook.cost` returns None and
reports show it as such, never as $0.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lsp_server.config import ModelSettings, PriceOverride, Settings, SettingsSource
from lsp_server.ledger.labels import is_loopback

if TYPE_CHECKING:  # importing the providers package would load every vendor client
    from lsp_server.providers.base import Usage

DEFAULT_PREMIUM = ModelSettings(
    name="claude-sonnet", provider="anthropic", model="claude-sonnet-4-5", tier="premium"
)
# genai-prices provider ids for the provider kinds whose endpoint is fixed.
GENAI_PROVIDER_IDS: dict[str, str] = {"anthropic": "anthropic", "gemini": "google"}
PER_MILLION = 1_000_000.0


def override_cost(price: PriceOverride, usage: Usage) -> float:
    """Cost from a settings override (USD per million tokens); cache rates default to input."""
    cache_read = min(usage.cache_read, usage.input)
    cache_write = min(usage.cache_write, usage.input - cache_read)
    uncached = usage.input - cache_read - cache_write
    read_rate = price.input if price.cache_read is None else price.cache_read
    write_rate = price.input if price.cache_write is None else price.cache_write
    total = (
        uncached * price.input
        + cache_read * read_rate
        + cache_write * write_rate
        + usage.output * price.output
    )
    return total / PER_MILLION


def runs_locally(model: ModelSettings) -> bool:
    """True for the models that are free without a price: tier ``local`` and Ollama.

    Not for a loopback address alone: a proxy on ``localhost`` may forward to a paid vendor.
    """
    return model.tier == "local" or model.provider == "ollama"


def genai_prices_cost(model: ModelSettings, usage: Usage, when: datetime | None = None) -> float | None:
    """The genai-prices figure for this model and usage, or None when it does not know the model."""
    from genai_prices import Usage as GenaiUsage  # imported lazily: loading it takes ~0.5 s
    from genai_prices import calc_price

    genai_usage = GenaiUsage(
        input_tokens=usage.input,
        output_tokens=usage.output,
        cache_read_tokens=usage.cache_read,
        cache_write_tokens=usage.cache_write,
    )
    # The vendor from the provider kind when it has one fixed vendor, else from the endpoint;
    # a loopback endpoint (a proxy) names no vendor, so the model name alone finds it.
    provider_id = GENAI_PROVIDER_IDS.get(model.provider)
    kwargs: dict[str, Any] = {}
    if provider_id:
        kwargs["provider_id"] = provider_id
    elif not is_loopback(model.effective_base_url):
        kwargs["provider_api_url"] = model.effective_base_url
    try:
        calc = calc_price(genai_usage, model.model, genai_request_timestamp=when, **kwargs)
    except (LookupError, ValueError):
        return None
    return float(calc.total_price)


class PriceBook:
    """Prices for the configured models, and what the premium model would have cost instead."""

    def __init__(self, settings: Settings | SettingsSource | None = None) -> None:
        self._settings = SettingsSource.of(settings)
        self._lock = threading.Lock()

    @property
    def premium_model(self) -> ModelSettings:
        """The first configured ``premium`` model, else :data:`DEFAULT_PREMIUM`."""
        premium = [m for m in self._settings.current.models if m.tier == "premium"]
        return premium[0] if premium else DEFAULT_PREMIUM

    def cost(self, model: ModelSettings, usage: Usage, when: datetime | None = None) -> float | None:
        """USD for one call; 0.0 for local models (see the module docstring); None when unpriced."""
        if model.price is not None:
            return override_cost(model.price, usage)
        if runs_locally(model):
            return 0.0
        with self._lock:  # the snapshot's lazy loading is not documented as thread-safe
            return genai_prices_cost(model, usage, when)

    def premium_cost(self, usage: Usage, when: datetime | None = None) -> float | None:
        """What the configured premium model (default claude-sonnet-4-5) would charge for ``usage``."""
        return self.cost(self.premium_model, usage, when)

    def preload(self) -> None:
        """Load the price snapshot now (tens of milliseconds, once per process), so that the
        prices asked for later, on the event loop, are instant. Blocking: call from a thread."""
        from lsp_server.providers.base import Usage

        self.cost(DEFAULT_PREMIUM, Usage(input=1, output=1))

    def is_priced(self, model: ModelSettings) -> bool:
        """Whether calls to ``model`` get a price (checked with a small sample usage)."""
        from lsp_server.providers.base import Usage

        return self.cost(model, Usage(input=1000, output=100)) is not None
