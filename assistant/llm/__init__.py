"""The optional LLM answer path: prompt, OpenAI-compatible client and grounding check."""

from assistant.llm.answerer import LLMAnswerer, LLMError
from assistant.llm.check import check_answer, citations, is_refusal
from assistant.llm.prompt import REFUSAL, SYSTEM_PROMPT, build_messages

__all__ = [
    "REFUSAL",
    "SYSTEM_PROMPT",
    "LLMAnswerer",
    "LLMError",
    "build_messages",
    "check_answer",
    "citations",
    "is_refusal",
]
