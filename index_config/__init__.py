"""The single place that knows the collection, models, analyzer and Qdrant arguments."""

import os

# Nothing may reach the internet at run time: no model hub, no usage telemetry.
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from index_config.settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]
