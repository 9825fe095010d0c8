"""Embedded index versions on the real Qdrant Edge engine (tiny vectors, no model): begin,
recycle or copy, publish, discard, prune; readers' leases; broken CURRENT pointers."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import types
from pathlib import Path

import pytest
from haystack import Document
from haystack.dataclasses import SparseEmbedding
from haystack.document_stores.types import DuplicatePolicy

from index_config.documents_index import DocumentIndex
from index_config.local_versions import SHARD, LocalIndexVersions
from index_config.store_errors import StoreError
from index_config.term_stats import TermStatistics
from index_config.versions import IndexManifest, OpenedVersion, WorkingVersion
from tests.conftest import make_settings

pytestmark = pytest.mark.integration
DIM = 4


@pytest.fixture
def versions(tmp_path: Path) -> LocalIndexVersions:
    return LocalIndexVersions(make_settings(tmp_path / "data"))


def chunk(doc: str, text: str) -> Document:
    seed = int(hashlib.sha256(f"{doc}{text}".encode()).hexdigest()[:8], 16)
    return Document(
        id=f"{doc}#0",
        content=text,
        meta={"doc_id": doc, "unit_id": doc, "doc_hash": hashlib.sha256(text.encode()).hexdigest()},
        embedding=[1.0, (seed % 7) / 7, (seed % 5) / 5, (seed % 3) / 3],
        sparse_embedding=SparseEmbedding(indices=[seed % 11, 20], values=[1.0, 0.5]),
    )


def write(working: WorkingVersion, docs: list[Document], gone: list[str] = ()) -> None:  # type: ignore[assignment]
    working.store.delete_points(list(gone))
    working.store.write_documents(docs, policy=DuplicatePolicy.OVERWRITE)


def begin(versions: LocalIndexVersions, base: OpenedVersion | None) -> WorkingVersion:
    index = versions.document_index(base) if base is not None else DocumentIndex()
    return versions.begin(base, DIM, index)


def publish(versions: LocalIndexVersions, working: WorkingVersion) -> str:
    count = working.store.count_documents()
    manifest = IndexManifest("mock", DIM, "f", dt.datetime.now(dt.UTC).isoformat(), count)
    index = DocumentIndex.from_store(working.store)  # an ingest keeps it up to date instead
    return versions.publish(working, manifest, TermStatistics.from_counts({}, count), index)


def contents(opened: OpenedVersion) -> dict[str, str]:
    return {d.id: str(d.content) for d in opened.store.filter_documents()}


def folder_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "readers.lock"
    }


def version_names(versions: LocalIndexVersions) -> set[str]:
    return {p.name for p in versions.versions_dir.iterdir()}


def test_begin_publish_copy_recycle_discard_and_prune(versions: LocalIndexVersions) -> None:
    assert versions.current() is None and versions.pointer_token() is None

    first = begin(versions, None)
    assert first.how == "empty" and first.name.endswith(".tmp")
    assert (versions.versions_dir / first.name).is_dir()
    write(first, [chunk("a", "alfa"), chunk("b", "beta")])
    assert versions.current() is None  # a working version is never served
    v1 = publish(versions, first)
    assert versions.current() == v1 and versions.pointer.read_text("utf-8").strip() == v1
    token = versions.pointer_token()

    # Nothing older to reuse: the next version starts as a copy; a discarded one is gone.
    base = versions.open(v1)
    second = begin(versions, base)
    assert second.how == "copied"
    versions.discard(second)
    assert not (versions.versions_dir / second.name).exists()
    assert versions.current() == v1 and versions.pointer_token() == token

    second = begin(versions, base)
    write(second, [chunk("c", "gamma")], gone=["a#0"])
    base.close()
    v2 = publish(versions, second)
    assert version_names(versions) == {v1, v2}

    # The third reuses v1 (no reader holds it): it is brought up to date with v2 by
    # writing only the differences, then this run's own change goes on top.
    base = versions.open(v2)
    third = begin(versions, base)
    assert third.how == "recycled" and third.caught_up == 2  # a#0 deleted, c#0 copied
    assert v1 not in version_names(versions)
    assert {d.id: d.content for d in third.store.filter_documents()} == contents(base)
    write(third, [chunk("d", "delta")])
    base.close()
    v3 = publish(versions, third)
    assert version_names(versions) == {v2, v3}
    opened = versions.open(v3)
    try:
        assert contents(opened) == {"b#0": "beta", "c#0": "gamma", "d#0": "delta"}
        # Vectors came over with the points: searches find the copied chunk.
        points = opened.store.export_points(["c#0"])
        assert points[0].dense is not None and points[0].sparse is not None
    finally:
        opened.close()


def test_a_version_a_reader_holds_is_never_recycled_nor_pruned(
    versions: LocalIndexVersions,
) -> None:
    names = []
    base: OpenedVersion | None = None
    for i in range(2):
        working = begin(versions, base)
        write(working, [chunk(f"doc{i}", f"text {i}")])
        if base is not None:
            base.close()
        names.append(publish(versions, working))
        base = versions.open(names[-1])
    assert base is not None
    reader = versions.open(names[0])  # e.g. `concerta search` still on the old version
    before = folder_digest(versions.versions_dir / names[0])
    try:
        working = begin(versions, base)
        assert working.how == "copied"
        write(working, [chunk("doc2", "text 2")])
        base.close()
        names.append(publish(versions, working))
        versions.prune(keep=1)
        assert names[0] in version_names(versions)
        assert contents(reader) == {"doc0#0": "text 0"}
        assert reader.store.count_documents() == 1
    finally:
        reader.close()
    # Readers never write: the folder is byte for byte what the writer published.
    assert folder_digest(versions.versions_dir / names[0]) == before
    versions.prune(keep=1)
    assert version_names(versions) == {names[-1]}


def test_prune_removes_leftovers_of_interrupted_runs(versions: LocalIndexVersions) -> None:
    working = begin(versions, None)
    write(working, [chunk("a", "alfa")])
    published = publish(versions, working)
    leftover = begin(versions, versions.open(published))  # as after a kill -9
    leftover.store.close()
    versions.prune()
    assert version_names(versions) == {published}


def test_prune_keeps_the_two_most_recent_versions(
    versions: LocalIndexVersions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from index_config import versions as versions_module

    # Three runs published within the same microsecond, whose random suffixes happen to
    # sort in reverse order of creation.
    frozen = dt.datetime(2022, 3, 15, 10, 0, 0, tzinfo=dt.UTC)
    fake_dt = types.SimpleNamespace(
        UTC=dt.UTC, datetime=types.SimpleNamespace(now=lambda tz=None: frozen)
    )
    suffixes = iter(["c" * 32, "b" * 32, "a" * 32])
    monkeypatch.setattr(versions_module, "dt", fake_dt)
    monkeypatch.setattr(
        versions_module.uuid, "uuid4", lambda: types.SimpleNamespace(hex=next(suffixes))
    )
    published = []
    for i in range(3):
        working = begin(versions, None)
        write(working, [chunk(f"d{i}", f"text {i}")])
        published.append(publish(versions, working))
    versions.prune(keep=2)
    assert version_names(versions) == set(published[-2:])
    assert versions.published() == published[::-1][:2]


# Broken pointers ------------------------------------------------------------------------
@pytest.fixture
def one_version(versions: LocalIndexVersions) -> str:
    working = begin(versions, None)
    write(working, [chunk("a", "alfa")])
    return publish(versions, working)


def break_pointer(versions: LocalIndexVersions, how: str, tmp_path: Path) -> None:
    pointer = versions.pointer
    pointer.unlink()
    if how == "binary":
        pointer.write_bytes(b"\x00\xff\xfe" + os.urandom(40))
    elif how == "directory":
        pointer.mkdir()
    elif how == "missing version":
        pointer.write_text("v20990101T000000000000-abcdef\n", "utf-8")
    elif how == "empty version":
        (versions.versions_dir / "v20990101T000000000000-abcdef").mkdir()
        pointer.write_text("v20990101T000000000000-abcdef\n", "utf-8")
    elif how == "absolute path":
        outside = tmp_path / "outside"
        outside.mkdir()
        pointer.write_text(f"{outside}\n", "utf-8")
    elif how == "parent path":
        pointer.write_text("../../outside\n", "utf-8")
    elif how == "symlink outside":
        (tmp_path / "elsewhere").mkdir()
        (versions.versions_dir / "vlink").symlink_to(tmp_path / "elsewhere")
        pointer.write_text("vlink\n", "utf-8")
    elif how == "empty file":
        pointer.write_text("", "utf-8")
    else:
        raise AssertionError(how)


BROKEN = [
    "binary",
    "directory",
    "missing version",
    "empty version",
    "absolute path",
    "parent path",
    "symlink outside",
    "empty file",
]


@pytest.mark.parametrize("how", BROKEN)
def test_a_broken_pointer_is_refused_and_the_valid_version_is_a_fallback(
    versions: LocalIndexVersions, one_version: str, how: str, tmp_path: Path
) -> None:
    break_pointer(versions, how, tmp_path)
    assert versions.current() is None
    assert versions.fallbacks() == [one_version]
    opened = versions.open(one_version)
    opened.close()


@pytest.mark.parametrize("name", ["/etc", "../x", "v1/../../x", "", "a" * 200])
def test_version_names_never_lead_outside_the_versions_folder(
    versions: LocalIndexVersions, name: str
) -> None:
    with pytest.raises(StoreError):
        versions.open(name)


def test_a_damaged_shard_cannot_be_opened(versions: LocalIndexVersions, one_version: str) -> None:
    shard = versions.versions_dir / one_version / SHARD
    for path in shard.rglob("*"):
        if path.is_file():
            path.write_bytes(b"")
    with pytest.raises(StoreError):
        versions.open(one_version)
