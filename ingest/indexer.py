"""ChunkIndexer: embed chunks in batches, dense and sparse, and write them as they come.

Close to the embedding floor: chunks are sorted by length so every batch the dense model
sees pads little, the Catalan analysis and the writes are cheap next to the model, and
each group is written and dropped before the next is embedded, so memory holds one group
of vectors at a time. Term statistics are counted on the way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from haystack import Document
from haystack.document_stores.types import DuplicatePolicy
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from index_config import Settings
from index_config.analyzer import CatalanAnalyzer
from index_config.chunk_store import ChunkStore
from index_config.sparse_document_embedder import CatalanSparseDocumentEmbedder
from index_config.term_stats import TermStatistics, document_terms

# Chunks per dense embedder call: enough for sentence-transformers to batch texts of
# similar length, small enough that a group's vectors are a few megabytes.
GROUP = 256


def progress_bar(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("queden"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


class ChunkIndexer:
    def __init__(self, settings: Settings, dense_embedder: Any, console: Console) -> None:
        self.settings = settings
        self.dense = dense_embedder
        # A group's texts stay cached between its sparse vectors and its term statistics.
        self.sparse = CatalanSparseDocumentEmbedder(
            analyzer=settings.analyzer.model_dump(), text_cache_size=4 * GROUP
        )
        self.sparse.warm_up()
        self.analyzer = CatalanAnalyzer(settings.analyzer, text_cache_size=0)
        self.console = console

    def write(self, store: ChunkStore, chunks: list[Document], stats: TermStatistics) -> None:
        if not chunks:
            return
        ordered = sorted(chunks, key=lambda d: len(d.content or ""))
        with progress_bar(self.console) as progress:
            task = progress.add_task("Indexant", total=len(ordered))
            for group in _groups(ordered, GROUP):
                embedded = self.dense.run(documents=group)["documents"]
                with_sparse = self.sparse.run(documents=embedded)["documents"]
                for doc in with_sparse:
                    stats.add_terms(self.sparse.terms(doc))
                store.write_documents(with_sparse, policy=DuplicatePolicy.OVERWRITE)
                progress.advance(task, len(group))

    def forget(self, removed: list[Document], stats: TermStatistics) -> None:
        for doc in removed:
            stats.remove_terms(document_terms(self.analyzer, doc))


def _groups(items: list[Document], size: int) -> Iterator[list[Document]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
