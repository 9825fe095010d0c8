"""Which links count as plain web links, and their hosts (the ingest indexes a catalogue
resource's link host; the composer's link allowlist is made of them)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# A plain http(s) link: a host of letters, digits, dots and hyphens, an optional port, and
# no characters that could close the Markdown or HTML it is written into.
SAFE_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::\d{1,5})?(?:[/?#][^\s\\<>\"'()\[\]`]*)?")


def url_host(url: object) -> str | None:
    """The lower-case host of a plain http(s) link; None for anything else."""
    if not isinstance(url, str) or not SAFE_URL.fullmatch(url):
        return None
    host = urlsplit(url).hostname
    return host.lower() if host else None
