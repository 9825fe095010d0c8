"""The single place that knows the collection, models, analyzer and Qdrant arguments."""

from index_config.settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]
