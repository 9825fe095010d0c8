"""Conversations only their owner can continue, one rating per answer, and retention:
the real ConversationStore and SearchLog on a temporary SQLite file, with a fake clock."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.conversation import ConversationStore
from assistant.errors import NotFoundError
from assistant.reporting.searches import SearchLog
from assistant.retention import RetentionJob
from assistant.service import AssistantService
from index_config import Settings
from index_config.settings import PrivacySettings

START = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "concerta.sqlite3"


@pytest.fixture
def store(path: Path, clock: FakeClock) -> Iterator[ConversationStore]:
    opened = ConversationStore(path, clock=clock)
    yield opened
    opened.close()


def rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as db:
        return db.execute(f"SELECT * FROM {table}").fetchall()


def answer(store: ConversationStore, cid: str | None, question: str = "Hi ha ajuts?") -> str:
    cid = store.ensure(cid)
    store.add_turn(cid, question, question, "Resposta", True, [])
    return cid


# ---- ids ---------------------------------------------------------------------------------
def test_ids_are_issued_by_the_server_and_unguessable(store: ConversationStore) -> None:
    ids = {store.ensure(None) for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 22 for i in ids)  # 16 random bytes, URL-safe base64


def test_an_issued_id_continues_and_any_other_starts_afresh(store: ConversationStore) -> None:
    mine = answer(store, None)
    assert store.ensure(mine) == mine
    for made_up in ("admin", "0" * 22, mine + "x", mine.upper(), ""):
        fresh = store.ensure(made_up)
        assert fresh not in (made_up, mine)
        assert store.history(fresh) == []
    assert [t.question for t in store.history(mine)] == ["Hi ha ajuts?"]


def test_ids_adopted_by_earlier_versions_are_not_continued(path: Path) -> None:
    """A file written before ids were issued: its client-made ids start afresh."""
    with closing(sqlite3.connect(path)) as db:
        db.executescript(
            "CREATE TABLE conversations (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, "
            "reset_after INTEGER NOT NULL DEFAULT 0);"
            "CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT "
            "NOT NULL, message_id TEXT, rating INTEGER NOT NULL, comment TEXT, created_at TEXT "
            "NOT NULL);"
            "INSERT INTO conversations VALUES ('admin', '2025-01-01T00:00:00+00:00', 0);"
            "INSERT INTO feedback (conversation_id, message_id, rating, created_at) VALUES "
            "('admin', 'm1', 1, '2025-01-01'), ('admin', 'm1', -1, '2025-01-02'), "
            "('admin', NULL, 1, '2025-01-03');"
        )
        db.commit()
    store = ConversationStore(path)
    try:
        assert store.ensure("admin") != "admin"
        # Duplicate ratings of one answer are reduced to the last one.
        assert store.feedback_rows("admin") == [("m1", -1, None), (None, 1, None)]
    finally:
        store.close()


# ---- feedback ------------------------------------------------------------------------------
def test_one_rating_per_answer_the_last_one_wins(store: ConversationStore, path: Path) -> None:
    cid = store.ensure(None)
    mid = store.add_turn(cid, "Hi ha ajuts?", "ajuts", "Sí", True, [])
    for n in range(1000):
        store.add_feedback(cid, 1 if n % 2 else -1, mid, f"comentari {n}")
    store.add_feedback(cid, -1, None, None)  # about the conversation, no answer named
    store.add_feedback(cid, 1, None, "bé")
    assert store.feedback_rows(cid) == [(mid, 1, "comentari 999"), (None, 1, "bé")]
    assert len(rows(path, "feedback")) == 2


def test_feedback_for_unknown_conversations_or_answers(store: ConversationStore) -> None:
    cid = answer(store, None)
    with pytest.raises(NotFoundError, match="No es troba aquesta conversa"):
        store.add_feedback("admin", 1, None, None)
    with pytest.raises(NotFoundError, match="No es troba aquesta resposta"):
        store.add_feedback(cid, 1, "no-existeix", None)


# ---- retention and size ------------------------------------------------------------------
def test_purge_deletes_what_is_older_than_the_retention(
    store: ConversationStore, clock: FakeClock, path: Path
) -> None:
    old = store.ensure(None)
    old_turn = store.add_turn(old, "Pregunta antiga", "q", "r", True, [])
    store.add_feedback(old, -1, old_turn, "antic")
    clock.advance(days=60)
    kept = store.ensure(None)
    kept_turn = store.add_turn(kept, "Pregunta recent", "q", "r", True, [])
    store.add_feedback(kept, 1, kept_turn, None)
    clock.advance(days=31)  # the old one is now 91 days old, the recent one 31

    purged = store.purge(clock() - dt.timedelta(days=90), max_turns=1000)

    assert (purged.turns, purged.feedback, purged.conversations) == (1, 1, 1)
    assert [r[2] for r in rows(path, "turns")] == ["Pregunta recent"]
    assert [r[1] for r in rows(path, "feedback")] == [kept]
    assert [r[0] for r in rows(path, "conversations")] == [kept]
    assert store.ensure(old) != old  # forgotten: a new conversation
    assert store.ensure(kept) == kept


def test_purge_keeps_the_store_under_its_size_bound(
    store: ConversationStore, clock: FakeClock, path: Path
) -> None:
    cids = []
    for n in range(10):
        cid = store.ensure(None)
        store.add_feedback(cid, 1, store.add_turn(cid, f"P{n}", "q", "r", True, []), None)
        cids.append(cid)
        clock.advance(minutes=1)
    clock.advance(hours=2)
    purged = store.purge(clock() - dt.timedelta(days=90), max_turns=4)
    assert purged.turns == 6 and purged.feedback == 6 and purged.conversations == 6
    assert [r[2] for r in rows(path, "turns")] == ["P6", "P7", "P8", "P9"]  # oldest first out
    assert {r[0] for r in rows(path, "conversations")} == set(cids[6:])


def test_a_reset_still_hides_old_turns_after_a_purge(
    store: ConversationStore, clock: FakeClock
) -> None:
    cid = answer(store, None, "abans")
    store.reset(cid)
    clock.advance(days=100)
    store.purge(clock() - dt.timedelta(days=90), max_turns=1000)  # every turn is gone
    answer(store, None, "una altra conversa")
    assert store.ensure(cid) != cid  # its only turn was deleted: the conversation is gone


def test_an_empty_new_conversation_survives_a_purge(
    store: ConversationStore, clock: FakeClock
) -> None:
    cid = store.ensure(None)  # its first answer is on its way
    store.purge(clock() - dt.timedelta(days=90), max_turns=1000)
    assert store.ensure(cid) == cid


def test_the_search_log_is_purged_too(path: Path, clock: FakeClock) -> None:
    ConversationStore(path, clock=clock).close()  # the file exists
    log = SearchLog(path, clock=clock)
    for n in range(5):
        log.record(f"cerca {n}", {}, 0)
        clock.advance(days=30)
    # Records 30, 60, 90, 120 and 150 days old: two are past 90 days.
    assert log.purge(clock() - dt.timedelta(days=90), max_rows=1000) == 2
    assert log.purge(clock() - dt.timedelta(days=90), max_rows=2) == 1
    assert [r[3] for r in rows(path, "searches")] == ["cerca 3", "cerca 4"]


def test_the_retention_job_uses_the_settings(path: Path, clock: FakeClock) -> None:
    store = ConversationStore(path, clock=clock)
    log = SearchLog(path, clock=clock)
    try:
        answer(store, None)
        log.record("res", {}, 0)
        job = RetentionJob(PrivacySettings(retention_days=90), lambda: store, log, clock)
        assert job.run_once().purged.turns == 0
        clock.advance(days=91)
        result = job.run_once()
        assert (result.purged.turns, result.searches) == (1, 1)
        assert result.cutoff == clock() - dt.timedelta(days=90)
        assert job.last == result
        # No store yet (the service has not warmed up): nothing to do, no error.
        assert RetentionJob(PrivacySettings(), lambda: None, None, clock).run_once().searches == 0
    finally:
        store.close()


class StoreOnlyService:
    """What the app's lifespan reads from a service: settings and its conversation store."""

    def __init__(self, settings: Settings, store: ConversationStore) -> None:
        self.settings = settings
        self.conversations = store

    def is_ready(self) -> bool:
        return True


def test_the_app_purges_when_it_starts(tmp_path: Path, clock: FakeClock) -> None:
    settings = Settings(data_dir=tmp_path, privacy=PrivacySettings(retention_days=30))
    store = ConversationStore(settings.sqlite_path, clock=clock)
    try:
        answer(store, None)
        clock.advance(days=31)
        service = cast(AssistantService, StoreOnlyService(settings, store))
        app = create_app(service=service, clock=clock)
        with TestClient(app) as client:
            assert client.get("/health").status_code == 200
            assert app.state.retention.last is not None
            assert app.state.retention.last.purged.turns == 1
        assert rows(settings.sqlite_path, "turns") == []
    finally:
        store.close()
