"""Ollama through the official client: num_ctx from the prompt size, keep_alive, usage from the
eval counts, a model that is not pulled, embeddings and the installed-model list."""

from __future__ import annotations

from typing import Any

import ollama
import pytest
from provider_helpers import MakeProvider
from standins import Reply

from lsp_server.errors import FatalProviderError, ModelNotFoundError
from lsp_server.providers import Completion, Prompt, StreamDelta, Usage
from lsp_server.providers.ollama import OllamaProvider, num_ctx_for

PROMPT = Prompt(system="You edit Rust.", stable="fn a() {}", volatile="fn b() {}", instruction="Rename b")


def test_num_ctx_holds_prompt_and_answer_in_few_distinct_sizes() -> None:
    assert num_ctx_for(100, 2048, None) == 4096
    assert num_ctx_for(3000, 2048, None) == 8192
    assert num_ctx_for(30000, 2048, None) == 65536
    assert num_ctx_for(30000, 2048, 32768) == 32768
    assert num_ctx_for(10**7, 2048, None) == 131072


async def test_generate_sets_the_window_keep_alive_and_reports_eval_counts(standin: Any, connect: MakeProvider) -> None:
    srv = standin("ollama", Reply("fn c() {}", input=812, output=9))
    big = Prompt(system="s", stable="x = 1\n" * 4000, instruction="go")
    done = await connect(srv, keep_alive="1h", max_output_tokens=1024).generate(big)
    assert done.text == "fn c() {}" and done.stop_reason == "stop"
    assert done.usage == Usage(input=812, output=9)
    body = srv.generations[0].body
    assert body["stream"] is False and body["keep_alive"] == "1h"
    assert body["options"]["num_ctx"] >= 16384 and body["options"]["num_ctx"] == done.extra["num_ctx"]
    assert body["options"]["num_predict"] == 1024 and body["options"]["temperature"] == 0.0
    assert body["messages"] == [{"role": "system", "content": "s"},
                                {"role": "user", "content": big.stable + "\n\ngo"}]


async def test_stream_reads_ndjson_until_done(standin: Any, connect: MakeProvider) -> None:
    srv = standin("ollama", Reply("fn c() {}", input=40, output=4))
    items = [i async for i in connect(srv).stream(PROMPT)]
    assert "".join(i.text for i in items if isinstance(i, StreamDelta)) == "fn c() {}"
    final = items[-1]
    assert isinstance(final, Completion) and final.usage == Usage(input=40, output=4)
    assert srv.generations[0].body["stream"] is True


async def test_a_model_that_is_not_pulled_says_how_to_pull_it(standin: Any, connect: MakeProvider) -> None:
    srv = standin("ollama", models=["llama3.2:3b"])
    provider = connect(srv, model="qwen2.5-coder:7b")
    with pytest.raises(ModelNotFoundError, match=r"ollama pull qwen2\.5-coder:7b"):
        await provider.generate(PROMPT)
    assert len(srv.generations) == 1
    status = await provider.diagnose()
    assert not status.ok and "ollama pull qwen2.5-coder:7b" in status.detail
    assert await connect(srv, model="llama3.2:3b").available() is True


async def test_a_prompt_larger_than_the_configured_window_is_refused(standin: Any, connect: MakeProvider) -> None:
    srv = standin("ollama")
    with pytest.raises(FatalProviderError, match="context_window"):
        await connect(srv, context_window=512).generate(Prompt(system="s", stable="word " * 2000))
    assert srv.generations == []


async def test_embeddings_and_installed_models(standin: Any, connect: MakeProvider) -> None:
    srv = standin("ollama", models=["qwen2.5-coder:7b", "nomic-embed-text:latest"])
    provider = connect(srv)
    assert isinstance(provider, OllamaProvider)
    vectors = await provider.embed(["fn a() {}", "fn b() {}", "fn a() {}"], model="nomic-embed-text")
    assert len(vectors) == 3 and vectors[0] == vectors[2] != vectors[1]
    assert abs(sum(x * x for x in vectors[0]) - 1.0) < 1e-6
    embed_req = next(r for r in srv.requests if r.kind == "embed")
    assert embed_req.body["model"] == "nomic-embed-text" and embed_req.body["keep_alive"] == "30m"
    assert await provider.installed() == ["qwen2.5-coder:7b", "nomic-embed-text:latest"]
    with pytest.raises(ModelNotFoundError, match="ollama pull"):
        await provider.embed(["x"], model="missing-embedder")


def test_the_official_client_reads_the_stand_in(standin: Any) -> None:
    srv = standin("ollama", Reply("hi there", input=12, output=2), Reply("hi there", input=12, output=2))
    client = ollama.Client(host=srv.url)
    done = client.chat(model="qwen2.5-coder:7b", messages=[{"role": "user", "content": "hi"}])
    assert done.message.content == "hi there" and done.done and done.prompt_eval_count == 12
    parts = list(client.chat(model="qwen2.5-coder:7b", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert "".join(p.message.content or "" for p in parts) == "hi there"
    assert parts[-1].done and parts[-1].eval_count == 2 and parts[-1].done_reason == "stop"
    assert [m.model for m in client.list().models] == ["qwen2.5-coder:7b"]
    assert len(client.embed(model="qwen2.5-coder:7b", input="x").embeddings[0]) == 16


def test_the_stand_in_rejects_unpulled_models_like_ollama(standin: Any) -> None:
    srv = standin("ollama", models=["qwen2.5-coder:7b"])
    with pytest.raises(ollama.ResponseError) as missing:
        ollama.Client(host=srv.url).chat(model="nope", messages=[{"role": "user", "content": "hi"}])
    assert missing.value.status_code == 404 and 'model "nope" not found' in missing.value.error
