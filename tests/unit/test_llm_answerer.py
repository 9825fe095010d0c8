"""LLMAnswerer set-up (offline): client configuration, keys, reasoning-block filtering."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from assistant.errors import ConcertaError
from assistant.llm import LLMAnswerer, LLMError
from assistant.llm.answerer import GENERATION_KWARGS, _ThinkFilter
from index_config import Settings


@pytest.fixture(autouse=True)
def _no_llm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CONCERTA_LLM_BASE_URL", "CONCERTA_LLM_API_KEY", "CONCERTA_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)


def test_warm_up_configures_the_haystack_generator_without_network() -> None:
    settings = Settings(
        llm_base_url="http://127.0.0.1:9/v1", llm_model="qwen2.5-7b-instruct", llm_timeout=7.5
    )
    answerer = LLMAnswerer(settings)
    answerer.warm_up()
    generator = answerer._generator
    assert generator is not None and generator.client is not None
    assert generator.api_base_url == "http://127.0.0.1:9/v1"
    assert generator.model == "qwen2.5-7b-instruct"
    assert generator.timeout == 7.5 and generator.max_retries == 0
    assert generator.generation_kwargs == GENERATION_KWARGS
    # Local servers usually need no key; the OpenAI client still wants one.
    assert generator.api_key.resolve_value() == "sense-clau"
    answerer.warm_up()  # idempotent
    assert answerer._generator is generator
    answerer.close()
    assert answerer._generator is None


def test_the_api_key_comes_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONCERTA_LLM_API_KEY", "sk-local-1234")
    monkeypatch.setenv("CONCERTA_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    answerer = LLMAnswerer(Settings())
    answerer.warm_up()
    assert answerer._generator is not None
    assert answerer._generator.api_key.resolve_value() == "sk-local-1234"
    answerer.close()
    explicit = LLMAnswerer(
        Settings(llm_base_url="http://127.0.0.1:9/v1", llm_api_key=SecretStr("sk-other"))
    )
    explicit.warm_up()
    assert explicit._generator is not None
    assert explicit._generator.api_key.resolve_value() == "sk-other"
    explicit.close()


def test_without_a_base_url_it_refuses_to_start() -> None:
    answerer = LLMAnswerer(Settings(llm_base_url=None))
    with pytest.raises(LLMError, match="CONCERTA_LLM_BASE_URL"):
        answerer.warm_up()
    assert issubclass(LLMError, ConcertaError)


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        (["Hola ", "[1]."], "Hola [1]."),
        (["<thi", "nk>pensant", "...</th", "ink>\n\nHola", " [1]."], "Hola [1]."),
        (["  <think>a</think>Hola [1]."], "Hola [1]."),
        (["<", "b>no és un bloc"], "<b>no és un bloc"),
        (["<thi"], "<thi"),
    ],
)
def test_think_filter_drops_a_leading_reasoning_block(pieces: list[str], expected: str) -> None:
    think = _ThinkFilter()
    assert "".join(think.feed(p) for p in pieces) + think.flush() == expected
