"""Copies of the question files as officials mistype them or write them in Spanish.

    python bench/perturb_questions.py noaccent|typo|spanish OUT_DIR FILE...

`noaccent`: every question and turn lowercase, without accents or punt volat (as typed
on a phone). `spanish`: every question and turn translated into Spanish by Apertium's
Catalan-Spanish pair (`apertium -u cat-spa`, Debian apertium-spa-cat), as an official who
writes in Spanish might ask it; the assistant reads it back through spa-cat, so this
measures what the round trip and the Spanish-reading path cost. `typo`: the two longest
words (six letters or more) of every question and turn each get one typing error, a
letter dropped, doubled or swapped with the next, never the first letter; the error and
its place come from a generator seeded with the question's id, so the copies are the
same on every run. Ids, types and gold stay as they are, so the tuning/check split is the
files' own. Then:

    concerta eval --questions OUT_DIR/typo-questions-dev.jsonl --questions ... --json
"""

from __future__ import annotations

import argparse
import json
import random
import re
import unicodedata
from collections.abc import Callable
from functools import partial
from pathlib import Path

from index_config.apertium import translate

_LONG_WORD = re.compile(r"[^\W\d_]{6,}")


def without_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("l·l", "ll").replace("·", ""))
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn").lower()


def with_typos(text: str, rnd: random.Random, words: int = 2) -> str:
    # Longest first, ties in the order they are written (a set's order changes per run).
    distinct = list(dict.fromkeys(_LONG_WORD.findall(text)))
    for word in sorted(distinct, key=len, reverse=True)[:words]:
        i = rnd.randrange(1, len(word) - 2)
        kind = rnd.choice(("drop", "swap", "double"))
        if kind == "drop":
            typed = word[:i] + word[i + 1 :]
        elif kind == "swap":
            typed = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        else:
            typed = word[:i] + word[i] + word[i:]
        text = text.replace(word, typed, 1)
    return text


def in_spanish(text: str) -> str:
    return translate(text, "cat-spa", timeout=30.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=("noaccent", "typo", "spanish"))
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("files", type=Path, nargs="+")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for path in args.files:
        lines = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            question = json.loads(line)
            rnd = random.Random(question["id"])
            changes: dict[str, Callable[[str], str]] = {
                "noaccent": without_accents,
                "typo": partial(with_typos, rnd=rnd),
                "spanish": in_spanish,
            }
            change = changes[args.mode]
            if question.get("question"):
                question["question"] = change(question["question"])
            for turn in question.get("turns") or []:
                turn["question"] = change(turn["question"])
            lines.append(json.dumps(question, ensure_ascii=False))
        out = args.out_dir / f"{args.mode}-{path.name}"
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(out)


if __name__ == "__main__":
    main()
