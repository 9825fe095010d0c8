"""The answer composer: all the wording of answers and refusals (no LLM)."""

from assistant.composer.answers import (
    AnswerComposer,
    Composed,
    inert,
    resource_card,
    resource_facts_text,
    resource_text,
    window_status,
)
from assistant.composer.passages import PassagePicker, fact_kinds, sentences

__all__ = [
    "AnswerComposer",
    "Composed",
    "PassagePicker",
    "fact_kinds",
    "inert",
    "resource_card",
    "resource_facts_text",
    "resource_text",
    "sentences",
    "window_status",
]
