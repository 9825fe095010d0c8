"""Every string a person reads speaks Catalan in one register (vós) and without the known
mistakes: the pages and their scripts, the bot's texts, the CLI's help and errors, the
API's error messages, the cards and the ingest failure reasons.

Python files are read with `ast` (string constants, docstrings excluded: they are for
developers), scripts by their string literals (comments excluded), pages by their text
and the attributes people read. The LLM's system prompt is not read: it addresses the
model, not a person.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from ingest.reasons import catalan_reason, is_translated
from tests.support.register import problems

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "assistant" / "web" / "static"
PYTHON_FILES = sorted(
    {
        *(ROOT / "bots" / "telegram").glob("*.py"),
        *(ROOT / "assistant" / "api").glob("**/*.py"),
        *(ROOT / "assistant" / "composer").glob("*.py"),
        *(ROOT / "assistant" / "reporting").glob("*.py"),
        ROOT / "assistant" / "cli.py",
        ROOT / "assistant" / "cards.py",
        ROOT / "assistant" / "errors.py",
        ROOT / "assistant" / "service.py",
        ROOT / "assistant" / "retrieval" / "searcher.py",
        ROOT / "assistant" / "retrieval" / "index.py",
        ROOT / "ingest" / "reasons.py",
    }
)
# Files with strings still owned by other work in progress, as strict xfails (the test
# fails as soon as they are fixed, so the exception is then removed). None now.
PENDING: dict[str, str] = {}


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def python_strings(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            yield node.lineno, node.value


_JS_STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')


def script_strings(path: Path) -> Iterator[tuple[int, str]]:
    source = path.read_text(encoding="utf-8")
    source = re.sub(r"/\*[\s\S]*?\*/", lambda m: "\n" * m.group(0).count("\n"), source)
    for number, line in enumerate(source.splitlines(), start=1):
        code = re.sub(r"(?:^|\s)//\s.*$", "", line)
        for match in _JS_STRING.finditer(code):
            yield number, match.group(1)


class _PageText(HTMLParser):
    READ_ATTRIBUTES: ClassVar[frozenset[str]] = frozenset(
        {"placeholder", "aria-label", "title", "alt", "content", "value"}
    )

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        self.texts += [v for k, v in attrs if k in self.READ_ATTRIBUTES and v]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.texts.append(" ".join(data.split()))


def page_strings(path: Path) -> Iterator[tuple[int, str]]:
    parser = _PageText()
    parser.feed(path.read_text(encoding="utf-8"))
    yield 0, " ".join(parser.texts)


def strings_of(path: Path) -> Iterator[tuple[int, str]]:
    if path.suffix == ".py":
        return python_strings(path)
    if path.suffix == ".js":
        return script_strings(path)
    return page_strings(path)


FILES = [*PYTHON_FILES, *sorted(STATIC.glob("*.html")), *sorted(STATIC.glob("*.js"))]


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(p, marks=pytest.mark.xfail(strict=True, reason=PENDING[_relative(p)]))
        if _relative(p) in PENDING
        else p
        for p in FILES
    ],
    ids=_relative,
)
def test_user_facing_strings_keep_one_register(path: Path) -> None:
    found = [
        f"{_relative(path)}:{line}: {problem} in {text[:70]!r}"
        for line, text in strings_of(path)
        for problem in problems(text)
    ]
    assert found == []


def test_every_command_help_keeps_the_register() -> None:
    runner = CliRunner()
    names = ["", "ingest", "search", "ask", "serve", "bot", "report", "eval"]
    for name in names:
        result = runner.invoke(app, [*name.split(), "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert problems(result.stdout) == [], name
        assert "Show this message" not in result.stdout


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Escriu la teva pregunta", "tu"),
        ("Pregunta'm pels recursos del Catàleg", "tu"),
        ("No s'ha pogut connectar. Torna-ho a provar.", "tu"),
        ("Què vols saber?", "tu"),
        ("Sempre t'indico les fonts perquè les puguis comprovar.", "tu"),
        ("Hola! Sóc l'assistent", "sóc"),
        ("Termini de sol·licitud de Arranjament de camins", "elisió"),
        ("el àmbit d'aplicació", "elisió"),
        ("Concerta: assistant i cercador del Pla XGL", "assistant"),
    ],
)
def test_the_checker_finds_the_known_mistakes(text: str, kind: str) -> None:
    assert any(kind in problem for problem in problems(text)), problems(text)


@pytest.mark.parametrize(
    "text",
    [
        "Escriviu la vostra pregunta",
        "Pregunteu-me pels recursos del Catàleg",
        "Hola! Soc l'assistent del Pla XGL.",
        "Termini de sol·licitud d'Arranjament de camins; la universitat; de iode",
        "Tanca l'assistent",  # a control's label keeps the usual imperative
        "L'assistent respon a partir del Catàleg i us indica les fonts.",
    ],
)
def test_the_checker_accepts_the_vos_register(text: str) -> None:
    assert problems(text) == []


# Ingest failure reasons -----------------------------------------------------------------
_RAISERS = {"ConversionError": 0, "RecordError": 1, "SourceFailure": 1, "IngestLockedError": 0}


def _sample(node: ast.expr) -> str | None:
    """A message as it would read, formatted values replaced by a word."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            str(part.value) if isinstance(part, ast.Constant) else "valor" for part in node.values
        )
    return None


def ingest_reasons() -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / "ingest").glob("**/*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            position = _RAISERS.get(node.func.id)
            if position is None or len(node.args) <= position:
                continue
            sample = _sample(node.args[position])
            if sample is not None:
                found.append((f"{_relative(path)}:{node.lineno}", sample))
    return found


def test_every_ingest_failure_reason_has_catalan_words() -> None:
    reasons = ingest_reasons()
    assert len(reasons) >= 20  # the scan does find the converters' and sources' messages
    untranslated = [(where, text) for where, text in reasons if not is_translated(text)]
    assert untranslated == []
    for _, text in reasons:
        assert catalan_reason(text) != text
        assert problems(catalan_reason(text)) == []
