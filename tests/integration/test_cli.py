"""`concerta search`, `ask` and `ingest` as a user runs them (real model, local Qdrant).

Most runs go through Typer's CliRunner in this process; a local Qdrant folder can only be
opened once, so the search tests work on a copy of the session index."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from assistant.cli import app
from assistant.models import Hit
from index_config import Settings
from index_config.settings import PROJECT_DIR

pytestmark = pytest.mark.integration

CONCERTA = Path(sys.executable).parent / "concerta"
HIT_KEYS = set(Hit.model_fields)
MINI = Path(__file__).resolve().parents[1] / "data" / "mini"


@pytest.fixture(scope="module")
def data_dir(indexed_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the session index that this module's CLI runs may open."""
    target = tmp_path_factory.mktemp("cli-index")
    shutil.copytree(
        indexed_settings.qdrant_dir, target / "qdrant", ignore=shutil.ignore_patterns(".lock")
    )
    return target


def run(data_dir: Path, *args: str) -> Result:
    env = {"CONCERTA_DATA_DIR": str(data_dir), "COLUMNS": "300"}
    return CliRunner().invoke(app, list(args), env=env)


def results_of(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert list(body) == ["results"]
    hits: list[dict[str, Any]] = body["results"]
    return hits


# search --json ---------------------------------------------------------------------------------
def test_search_json_prints_results_with_the_hit_keys(data_dir: Path) -> None:
    hits = results_of(run(data_dir, "search", "xarxes wifi a la plaça", "--json", "--top-k", "4"))
    assert len(hits) == 4
    assert all(set(hit) == HIT_KEYS for hit in hits)
    assert hits[0]["codi"] == "22133" and hits[0]["kind"] == "recurs"
    assert hits[0]["url"] == "https://cataleg.exemple.cat/recurs/22133"


def test_search_json_with_filters(data_dir: Path) -> None:
    hits = results_of(
        run(data_dir, "search", "termini", "--json", "--filter", "kind=normativa", "--top-k", "8")
    )
    assert hits and {h["kind"] for h in hits} == {"normativa"}
    hits = results_of(
        run(
            data_dir, "search", "ajuts", "--json",
            "--filter", "tipologia=econòmic", "--filter", "obert_a=2022-03-15",
        )
    )  # fmt: skip
    assert hits and {h["metadata"]["tipologia"] for h in hits} == {"econòmic"}


def test_search_json_finds_an_faq_by_its_question(data_dir: Path) -> None:
    hits = results_of(run(data_dir, "search", "Qui ha de signar les justificacions?", "--json"))
    top3 = {(h["source"], h["article"]) for h in hits[:3]}
    assert (
        "preguntes-frequents.html",
        "Qui ha de signar les sol·licituds i qui signa les justificacions?",
    ) in top3


def test_search_json_is_one_line_and_pretty_indents(data_dir: Path) -> None:
    plain = run(data_dir, "search", "xarxes wifi a la plaça", "--json", "--top-k", "2")
    pretty = run(data_dir, "search", "xarxes wifi a la plaça", "--json", "--pretty", "--top-k", "2")
    assert plain.exit_code == pretty.exit_code == 0, pretty.output
    assert len(plain.stdout.strip().splitlines()) == 1
    assert pretty.stdout.startswith('{\n  "results": [')
    assert json.loads(pretty.stdout) == json.loads(plain.stdout)


def test_ask_renders_markdown_and_json_stays_raw(data_dir: Path) -> None:
    question = "Hi ha ajuts per posar wifi a la plaça?"
    shown = run(data_dir, "ask", question)
    assert shown.exit_code == 0, shown.output
    text = shown.stdout
    assert "Ajuts per al desplegament de xarxes wifi públiques municipals (codi 22133)" in text
    assert "**" not in text and "](" not in text  # Markdown drawn, not printed
    assert "• Termini de sol·licitud:" in text
    assert "Fitxa del recurs 22133 (https://cataleg.exemple.cat/recurs/22133)" in text
    assert "Catàleg de serveis 2022" in text and ".jsonl" not in text  # no file names
    raw = run(data_dir, "ask", question, "--json")
    assert raw.exit_code == 0, raw.output
    answer = json.loads(raw.stdout)
    assert "**Ajuts per al desplegament de xarxes wifi públiques municipals**" in answer["answer"]
    assert "[Fitxa del recurs 22133](https://cataleg.exemple.cat/recurs/22133)" in answer["answer"]


def test_help_is_in_catalan() -> None:
    result = CliRunner().invoke(app, ["search", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Cerca al catàleg" in result.stdout and "Nombre de resultats." in result.stdout
    assert "Mostra aquesta ajuda i surt." in result.stdout
    assert "Show this message" not in result.stdout


def test_search_table_output(data_dir: Path) -> None:
    result = run(data_dir, "search", "legionel·la", "--top-k", "3")
    assert result.exit_code == 0, result.output
    assert "22426" in result.stdout
    assert "legionel·losi" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["search", "ajuts", "--filter", "color=blau"],
            "Filtre desconegut",
        ),
        pytest.param(
            ["search", "ajuts", "--filter", "obert_a=demà"],
            "Valor de filtre no vàlid",
        ),
        (["search", "ajuts", "--filter", "kind"], "clau=valor"),
        (["search"], "indiqueu una CONSULTA o --batch FITXER"),
    ],
)
def test_search_errors_exit_2(data_dir: Path, args: list[str], message: str) -> None:
    result = run(data_dir, *args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not result.stdout.strip().startswith("{")


def test_search_before_any_ingest_says_so(tmp_path: Path) -> None:
    result = run(tmp_path, "search", "ajuts", "--json")
    assert result.exit_code == 2
    assert "concerta ingest" in result.stderr


# search --batch --------------------------------------------------------------------------------
def test_batch_prints_one_line_per_input_with_its_id(data_dir: Path, tmp_path: Path) -> None:
    queries = [
        {"id": "wifi", "query": "wifi", "filters": {}},
        {"id": "signar", "query": "Qui signa les justificacions?", "filters": {"kind": "faq"}},
        {"id": "legionella", "query": "legionel·la a les dutxes", "filters": {"kind": "recurs"}},
        {"id": "economics", "query": "ajuts", "filters": {"tipologia": "econòmic"}},
    ]
    batch = tmp_path / "batch.jsonl"
    batch.write_text(
        "\n".join(json.dumps(q, ensure_ascii=False) for q in queries) + "\n\n", "utf-8"
    )
    result = run(data_dir, "search", "--batch", str(batch), "--top-k", "3")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["wifi", "signar", "legionella", "economics"]
    assert all(set(line) == {"id", "results"} for line in lines)
    assert all(len(line["results"]) == 3 for line in lines)
    assert all(set(hit) == HIT_KEYS for line in lines for hit in line["results"])
    by_id = {line["id"]: line["results"] for line in lines}
    assert by_id["wifi"][0]["codi"] == "22133"
    assert {h["kind"] for h in by_id["signar"]} == {"faq"}
    assert by_id["legionella"][0]["codi"] == "22426"
    assert {h["metadata"]["tipologia"] for h in by_id["economics"]} == {"econòmic"}


def test_batch_bad_line_is_reported_and_the_others_answered(data_dir: Path, tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_text(
        '{"id": "a", "query": "wifi"}\nthis is not json\n{"id": "c", "query": "legionel·la"}\n',
        "utf-8",
    )
    result = run(data_dir, "search", "--batch", str(batch), "--top-k", "2")
    assert result.exit_code == 2
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3
    assert lines[0]["id"] == "a" and lines[0]["results"][0]["codi"] == "22133"
    assert lines[1]["results"] == [] and lines[1]["error"]
    assert lines[2]["id"] == "c" and lines[2]["results"][0]["codi"] == "22426"
    assert "línia 2: la línia no és JSON vàlid" in result.stderr


def test_batch_line_with_a_bad_filter_keeps_its_id(data_dir: Path, tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_text('{"id": "q-7", "query": "ajuts", "filters": {"color": "blau"}}\n', "utf-8")
    result = run(data_dir, "search", "--batch", str(batch))
    assert result.exit_code == 2
    (line,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert line["id"] == "q-7"
    assert "Filtre desconegut" in line["error"]


def test_batch_missing_file_exits_2(data_dir: Path, tmp_path: Path) -> None:
    result = run(data_dir, "search", "--batch", str(tmp_path / "cap.jsonl"))
    assert result.exit_code == 2
    assert "no es pot llegir" in result.stderr


# ingest ----------------------------------------------------------------------------------------
def test_ingest_prints_the_summary_line_and_exits_0(tmp_path: Path) -> None:
    result = run(
        tmp_path / "data", "ingest", str(MINI / "guia-justificacio.md"), str(MINI / "faq-mini.html")
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "added=2 updated=0 unchanged=0 deleted=0 failed=0"
    again = run(tmp_path / "data", "ingest", str(MINI / "guia-justificacio.md"))
    assert again.stdout.strip() == "added=0 updated=0 unchanged=1 deleted=0 failed=0"


# The installed console script ----------------------------------------------------------------
def test_console_script_prints_clean_json(data_dir: Path) -> None:
    env = {**os.environ, "CONCERTA_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [str(CONCERTA), "search", "wifi", "--json", "--top-k", "2"],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)  # nothing else (progress bars, logs) on stdout
    assert [h["codi"] for h in body["results"]][:1] == ["22133"]


def test_console_entry_point_disables_haystack_telemetry() -> None:
    # An offline deployment must not try to reach Haystack's telemetry server.
    env = {k: v for k, v in os.environ.items() if k != "HAYSTACK_TELEMETRY_ENABLED"}
    code = (
        "import assistant.cli\n"
        "from haystack.telemetry import _telemetry\n"
        "print(_telemetry.telemetry is None)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
