"""A broken index pointer or a damaged version never turns into a 500: the API serves the
newest valid version (or keeps the one it has), and answers 503 only when none is valid.
Real model, real Qdrant Edge, the FastAPI app as `concerta serve` builds it."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from assistant.api import create_app
from index_config import Settings
from index_config.local_versions import SHARD, LocalIndexVersions
from ingest.job import IngestJob
from tests.conftest import make_settings

pytestmark = pytest.mark.integration

MINI = Path(__file__).resolve().parents[1] / "data" / "mini"
REQUESTS = [
    ("POST", "/api/search", {"query": "xarxes wifi a la plaça"}),
    ("POST", "/api/ask", {"question": "Hi ha ajuts per posar wifi a la plaça?"}),
    ("GET", "/api/resources/22133", None),
    ("GET", "/api/open?date=2022-03-20", None),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A data dir with two published versions of the mini corpus (the second renames a
    resource, so the served version can be told from its answers)."""
    root = tmp_path_factory.mktemp("broken")
    corpus = root / "corpus"
    shutil.copytree(MINI, corpus)
    settings = make_settings(root / "data")
    job = IngestJob(settings, console=Console(file=io.StringIO()))
    first = job.run([str(corpus)]).version
    catalogue = corpus / "cataleg-mini.jsonl"
    records = [json.loads(line) for line in catalogue.read_text("utf-8").splitlines()]
    for record in records:
        if record["codi"] == "22133":
            record["nom"] = "Xarxes wifi a les places (segona versió)"
    catalogue.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    second = job.run([str(corpus)]).version
    assert first and second and first != second
    return root / "data", [first, second]


@pytest.fixture
def settings(built: tuple[Path, list[str]], tmp_path: Path) -> Settings:
    shutil.copytree(built[0], tmp_path / "data")
    return make_settings(tmp_path / "data")


@pytest.fixture
def versions(settings: Settings) -> LocalIndexVersions:
    return LocalIndexVersions(settings)


def serve(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings=settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    yield from serve(settings)


def served_title(client: TestClient) -> str:
    response = client.get("/api/resources/22133")
    assert response.status_code == 200, response.text
    return str(response.json()["title"])


def assert_serving(client: TestClient) -> None:
    assert client.get("/ready").status_code == 200
    for method, path, body in REQUESTS:
        response = client.request(method, path, json=body)
        assert response.status_code == 200, (path, response.status_code, response.text)


def assert_not_ready(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 503 and response.json()["status"] == "not_ready"
    for method, path, body in REQUESTS:
        response = client.request(method, path, json=body)
        assert response.status_code == 503, (path, response.status_code, response.text)
        assert "índex" in response.json()["detail"]


def break_pointer(versions: LocalIndexVersions, how: str, outside: Path) -> None:
    pointer = versions.pointer
    pointer.unlink()
    if how == "binary bytes":
        pointer.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff" * 8)
    elif how == "a directory":
        pointer.mkdir()
    elif how == "a missing version":
        pointer.write_text("v20990101T000000000000-abcdef\n", "utf-8")
    elif how == "an empty version":
        (versions.versions_dir / "v20990101T000000000000-abcdef").mkdir()
        pointer.write_text("v20990101T000000000000-abcdef\n", "utf-8")
    elif how == "an absolute path":
        outside.mkdir(exist_ok=True)
        pointer.write_text(f"{outside}\n", "utf-8")
    elif how == "a path outside":
        pointer.write_text("../../../etc\n", "utf-8")
    else:
        raise AssertionError(how)


def damage(versions: LocalIndexVersions, name: str) -> None:
    """Truncate every file of a version's shard (a disk error, a bad copy)."""
    for path in (versions.versions_dir / name / SHARD).rglob("*"):
        if path.is_file():
            path.write_bytes(b"")


BROKEN = [
    "binary bytes",
    "a directory",
    "a missing version",
    "an empty version",
    "an absolute path",
    "a path outside",
]


@pytest.mark.parametrize("how", BROKEN)
def test_a_server_started_on_a_broken_pointer_serves_the_newest_valid_version(
    settings: Settings, versions: LocalIndexVersions, how: str, tmp_path: Path
) -> None:
    break_pointer(versions, how, tmp_path / "outside")
    for client in serve(settings):
        assert_serving(client)
        assert served_title(client) == "Xarxes wifi a les places (segona versió)"


@pytest.mark.parametrize("how", BROKEN)
def test_a_pointer_broken_while_serving_keeps_the_served_version(
    api: TestClient, settings: Settings, versions: LocalIndexVersions, how: str, tmp_path: Path
) -> None:
    assert_serving(api)
    break_pointer(versions, how, tmp_path / "outside")
    service = api.app.state.service  # type: ignore[attr-defined]
    service.searcher.index.refresh()  # what the watcher does within a second
    assert_serving(api)
    assert served_title(api) == "Xarxes wifi a les places (segona versió)"


def test_a_damaged_published_version_falls_back_to_the_previous_one(
    settings: Settings, versions: LocalIndexVersions, built: tuple[Path, list[str]]
) -> None:
    damage(versions, built[1][1])
    for client in serve(settings):
        assert_serving(client)
        assert (
            served_title(client) == "Ajuts per al desplegament de xarxes wifi públiques municipals"
        )


def test_no_valid_version_means_503_everywhere_never_500(
    settings: Settings, versions: LocalIndexVersions, built: tuple[Path, list[str]], tmp_path: Path
) -> None:
    for name in built[1]:
        damage(versions, name)
    for client in serve(settings):
        assert_not_ready(client)
    break_pointer(versions, "binary bytes", tmp_path / "outside")
    for client in serve(settings):
        assert_not_ready(client)


def test_an_empty_data_dir_is_not_ready(tmp_path: Path) -> None:
    for client in serve(make_settings(tmp_path / "nothing")):
        assert_not_ready(client)


def test_a_version_that_breaks_while_served_gives_way_to_the_previous_one(
    api: TestClient, versions: LocalIndexVersions, built: tuple[Path, list[str]]
) -> None:
    assert served_title(api) == "Xarxes wifi a les places (segona versió)"
    # Its shard vanishes under the server (deleted by hand, a disk unmounted).
    service = api.app.state.service  # type: ignore[attr-defined]
    served = service.searcher.index.get()
    served.store.close()
    (versions.versions_dir / built[1][1] / SHARD).rename(versions.versions_dir / "elsewhere")
    assert_serving(api)
    assert served_title(api) == "Ajuts per al desplegament de xarxes wifi públiques municipals"


def test_a_version_that_breaks_before_its_first_question_gives_way_too(
    api: TestClient, versions: LocalIndexVersions, built: tuple[Path, list[str]]
) -> None:
    """The first question to a version reads what it covers (years, vocabulary) before
    any search: a version that breaks before that read must give way as a search does."""
    service = api.app.state.service  # type: ignore[attr-defined]
    served = service.searcher.index.get()
    served.store.close()
    (versions.versions_dir / built[1][1] / SHARD).rename(versions.versions_dir / "elsewhere")
    response = api.post("/api/ask", json={"question": "Hi ha ajuts per a xarxes wifi?"})
    assert response.status_code == 200, response.text
    assert served_title(api) == "Ajuts per al desplegament de xarxes wifi públiques municipals"


def test_a_bad_request_does_not_take_a_sound_version_offline(api: TestClient) -> None:
    from index_config.store_errors import StoreError

    service = api.app.state.service  # type: ignore[attr-defined]
    served = service.searcher.index.get()
    with pytest.raises(StoreError):
        served.documents(extra={"codi": {"no": "és un valor"}})
    assert service.searcher.index.get() is served
    assert_serving(api)
