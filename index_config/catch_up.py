"""Bring an older version up to date with the served one by writing only the differences.

An ingest that changes 1 % of the chunks should not copy the other 99 %. A recycled older
version already holds most of the served version's chunks; comparing the two by chunk id
and document hash (the hash of the source record or file and of the pipeline that
converted it: equal hashes mean equal chunks) tells which points to delete and which to
copy over, vectors included, so nothing is embedded again.
"""

from __future__ import annotations

from collections.abc import Callable

from index_config.chunk_store import ChunkStore

COPY_BATCH = 256


def catch_up(
    target: ChunkStore,
    source: ChunkStore,
    want: dict[str, str],
    have: dict[str, str],
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Make `target` (holding `have`: chunk id -> document hash) hold `source`'s chunks
    (`want`); returns the points deleted + copied."""
    gone = [c for c in have if c not in want]
    stale = [c for c, h in want.items() if have.get(c) != h]
    target.delete_points(gone)
    for start in range(0, len(stale), COPY_BATCH):
        batch = stale[start : start + COPY_BATCH]
        target.upsert_points(source.export_points(batch))
        if on_progress is not None:
            on_progress(len(batch))
    return len(gone) + len(stale)
