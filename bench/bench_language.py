"""How long reading a question's language takes: `SpanishReader` (assistant/ask/language.py)
on every question of the dev files, Catalan and Spanish, with a fresh reader (no cached
translations).

    python bench/bench_language.py [--rounds 5]

Prints a Markdown table (p50 / p95 / max in milliseconds): telling the language (two
`lt-proc` exchanges, every question pays it), and translating a Spanish one (the
`apertium spa-cat` pipeline, only Spanish questions pay it, once per text).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from assistant.ask.language import SpanishReader
from assistant.evaluation.questions import load_questions
from index_config.settings import PROJECT_DIR, LanguageSettings


def texts() -> list[str]:
    questions = load_questions(
        PROJECT_DIR / "data" / "questions-dev.jsonl", PROJECT_DIR / "data" / "questions-dev2.jsonl"
    )
    return [q.question for q in questions]


def row(name: str, ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    return f"| {name} | {len(ms)} | {statistics.median(ms):.1f} | {p95:.1f} | {ms[-1]:.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    reader = SpanishReader(LanguageSettings())
    if not reader.available:
        sys.exit("Apertium's spa-cat pair is not installed (make translation-deps)")
    questions = texts()
    reader.language("escalfament")  # start both lt-proc processes
    telling: list[float] = []
    spanish: list[str] = []
    for _ in range(args.rounds):
        for text in questions:
            start = time.perf_counter()
            language = reader.language(text)
            telling.append((time.perf_counter() - start) * 1000)
            if language == "es" and text not in spanish:
                spanish.append(text)
    translating = []
    for text in spanish:
        start = time.perf_counter()
        reader.read(text)
        translating.append((time.perf_counter() - start) * 1000)
    reader.close()
    print("| what | calls | p50 ms | p95 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    print(row("tell the language (every question)", telling))
    print(row("tell + translate (a Spanish question, first time)", translating))


if __name__ == "__main__":
    main()
