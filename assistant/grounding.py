"""TermStatistics: document frequencies of analysed terms over one index version.

The grounding signals weigh each question word by its IDF in the index (assistant/ask/
evidence.py), so "platja" (never in the corpus) outweighs "subvenció" (everywhere). The
ingest computes the statistics and stores them with each index version (index_config/
term_stats.py); the ask path imports them from here.
"""

from __future__ import annotations

from index_config.term_stats import TermStatistics

__all__ = ["TermStatistics"]
