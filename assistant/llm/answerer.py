"""LLMAnswerer: asks an OpenAI-compatible server (vLLM, llama.cpp, Ollama...) to answer.

Optional: only used when CONCERTA_LLM_BASE_URL is set. Every failure becomes LLMError so
the service can fall back to the deterministic composer; nothing here is shown to users.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from haystack.components.generators.chat import OpenAIChatGenerator
from haystack.dataclasses import StreamingChunk
from haystack.utils import Secret

from assistant.errors import ConcertaError
from assistant.links import LinkPolicy
from assistant.llm.check import check_answer, is_refusal
from assistant.llm.prompt import build_messages
from assistant.models import Hit
from index_config import Settings

# Low temperature: the answer restates sources, it does not need creativity.
GENERATION_KWARGS: dict[str, Any] = {"temperature": 0.1, "max_tokens": 700}
# Many local servers accept any key, but the OpenAI client refuses to start without one.
_NO_KEY = "sense-clau"
# Reasoning models (Qwen3, DeepSeek-R1 on llama.cpp/Ollama) may prefix the answer with this.
_THINK_BLOCK = re.compile(r"^\s*<think>.*?</think>\s*", re.DOTALL)


class LLMError(ConcertaError):
    """The LLM could not give an answer (HTTP error, timeout, empty or cut output).

    Messages are English, for the logs: the service falls back and users never see them.
    """


class _StreamAbandoned(Exception):
    """Raised inside the streaming callback to stop reading once the consumer has left."""


_END = object()


@dataclass
class LLMCounters:
    """Calls and the reasons their answers were not used, for /metrics. The service falls
    back to the composer on an LLMError, on a failed check and on a refusal."""

    calls: int = 0
    error: int = 0
    rejected: int = 0
    refusal: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)


class LLMAnswerer:
    """Writes a cited Catalan answer from numbered sources with an OpenAI-compatible LLM.

    Thread-safe after `warm_up()`: one HTTP client is shared by concurrent requests.
    `timeout` (CONCERTA_LLM_TIMEOUT) bounds each wait on the server: the whole response
    for `generate`, the first and each following piece for `stream`.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.timeout = settings.llm_timeout
        self._generator: OpenAIChatGenerator | None = None
        self._lock = threading.Lock()
        self.counters = LLMCounters()

    def warm_up(self) -> None:
        """Build the Haystack generator and its HTTP client (no network call)."""
        with self._lock:
            if self._generator is not None:
                return
            if not self.settings.llm_base_url:
                raise LLMError("no LLM configured: CONCERTA_LLM_BASE_URL is not set")
            key = self.settings.llm_api_key
            generator = OpenAIChatGenerator(
                api_key=Secret.from_token(key.get_secret_value() if key else _NO_KEY),
                model=self.settings.llm_model,
                api_base_url=self.settings.llm_base_url,
                generation_kwargs=dict(GENERATION_KWARGS),
                timeout=self.timeout,
                # A retry would double the wait before the fallback answer; fail fast.
                max_retries=0,
            )
            generator.warm_up()
            self._generator = generator

    def close(self) -> None:
        """Release the HTTP client."""
        with self._lock:
            if self._generator is not None:
                self._generator.close()
                self._generator = None

    def _ready_generator(self) -> OpenAIChatGenerator:
        if self._generator is None:
            self.warm_up()
        assert self._generator is not None  # set by warm_up or it raised
        return self._generator

    def generate(self, question: str, sources: list[Hit], history: list[tuple[str, str]]) -> str:
        """The full answer text; raises LLMError."""
        generator = self._ready_generator()
        messages = build_messages(question, sources, history)
        self.counters.add("calls")
        try:
            return self._generate(generator, messages)
        except LLMError:
            self.counters.add("error")
            raise

    def _generate(self, generator: OpenAIChatGenerator, messages: Any) -> str:
        try:
            replies = generator.run(messages=messages)["replies"]
        # The OpenAI client, httpx and response parsing raise many unrelated types; every
        # one of them means "no LLM answer" to the caller.
        except Exception as exc:
            raise LLMError(f"LLM request failed: {_describe(exc)}") from exc
        if not replies:
            raise LLMError("the LLM returned no choices")
        reply = replies[0]
        if reply.meta.get("finish_reason") == "length":
            raise LLMError("the LLM answer was cut at max_tokens")
        text = _THINK_BLOCK.sub("", reply.text or "").strip()
        if not text:
            raise LLMError("the LLM returned an empty answer")
        return text

    def stream(
        self, question: str, sources: list[Hit], history: list[tuple[str, str]]
    ) -> Generator[str, None, None]:
        """Text deltas as the server streams them; raises LLMError, also mid-stream.

        A generator: `close()` it when the listener goes away and the request stops.

        Haystack delivers chunks to a callback while `run()` blocks, so the request runs
        in a worker thread and the chunks reach this generator through a queue.
        """
        self.counters.add("calls")
        try:
            yield from self._stream(question, sources, history)
        except LLMError:
            self.counters.add("error")
            raise

    def _stream(
        self, question: str, sources: list[Hit], history: list[tuple[str, str]]
    ) -> Generator[str, None, None]:
        generator = self._ready_generator()
        messages = build_messages(question, sources, history)
        pieces: queue.Queue[object] = queue.Queue()
        abandoned = threading.Event()
        finish_reasons: list[str] = []

        def on_chunk(chunk: StreamingChunk) -> None:
            if abandoned.is_set():
                raise _StreamAbandoned
            if chunk.finish_reason:
                finish_reasons.append(chunk.finish_reason)
            if chunk.content:
                pieces.put(chunk.content)

        def request() -> None:
            try:
                generator.run(messages=messages, streaming_callback=on_chunk)
            except BaseException as exc:  # handed to the consumer thread, re-raised there
                pieces.put(exc)
            else:
                pieces.put(_END)

        worker = threading.Thread(target=request, name="concerta-llm-stream", daemon=True)
        worker.start()
        thinking = _ThinkFilter()
        produced = False
        try:
            while True:
                try:
                    # The client's own timeout fires first; this only guards the thread.
                    item = pieces.get(timeout=self.timeout + 5)
                except queue.Empty:
                    raise LLMError(f"no data from the LLM for {self.timeout + 5:.0f}s") from None
                if item is _END:
                    tail = thinking.flush()
                    if tail:
                        produced = produced or bool(tail.strip())
                        yield tail
                    break
                if isinstance(item, BaseException):
                    raise LLMError(f"LLM stream failed: {_describe(item)}") from item
                delta = thinking.feed(str(item))
                if delta:
                    produced = produced or bool(delta.strip())
                    yield delta
        finally:
            abandoned.set()
        if not finish_reasons:
            # Servers end every complete stream with a finish reason; a connection that
            # simply closes without one has lost the end of the answer.
            raise LLMError("the LLM stream ended without a finish reason")
        if "length" in finish_reasons:
            raise LLMError("the LLM answer was cut at max_tokens")
        if not produced:
            raise LLMError("the LLM returned an empty answer")

    def check(self, text: str, sources: list[Hit], links: LinkPolicy | None = None) -> list[str]:
        """Problems found in an answer (empty list: OK), in English for the logs.
        `links`: the hosts its links may go to (the service passes its allowlist)."""
        problems = check_answer(_THINK_BLOCK.sub("", text), sources, links)
        # The service uses neither a refusal nor an answer with problems (refusal first).
        if is_refusal(text):
            self.counters.add("refusal")
        elif problems:
            self.counters.add("rejected")
        return problems


class _ThinkFilter:
    """Drops a leading <think>...</think> block from streamed text, across chunk borders."""

    def __init__(self) -> None:
        self._buffer = ""
        self._decided = False

    def feed(self, piece: str) -> str:
        if self._decided:
            return piece
        self._buffer += piece
        stripped = self._buffer.lstrip()
        if "<think>".startswith(stripped) and len(stripped) < len("<think>"):
            return ""  # not enough text yet to tell
        if not stripped.startswith("<think>"):
            self._decided = True
            return self._buffer
        end = stripped.find("</think>")
        if end < 0:
            return ""
        self._decided = True
        return stripped[end + len("</think>") :].lstrip()

    def flush(self) -> str:
        """What is still held back when the stream ends (an unfinished "<think" prefix)."""
        if self._decided or self._buffer.lstrip().startswith("<think>"):
            return ""
        self._decided = True
        return self._buffer


def _describe(exc: BaseException) -> str:
    """A short log description: the exception type and its message (never the request)."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
