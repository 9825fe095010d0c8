"""HtmlConverter: portal pages, main content only (no menus, cookie banners, footers)."""

from __future__ import annotations

from bs4 import BeautifulSoup, Tag

from ingest.converters.base import ConversionError, normalise_text
from ingest.structure import Block

# Page furniture that is never content.
_BOILERPLATE = [
    "script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe",
    "svg", "button", "[role=dialog]", "[role=navigation]", "[role=banner]",
    "[role=contentinfo]", "[aria-hidden=true]", ".cookies", ".cookie", "#cookies",
    ".cookie-banner", ".breadcrumbs", ".breadcrumb", ".menu", ".skip-link",
]  # fmt: skip


def _decode(data: bytes) -> str:
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ConversionError("HTML is neither UTF-8 nor Windows-1252")


class HtmlConverter:
    extensions = (".html", ".htm")

    def blocks(self, data: bytes) -> tuple[str, list[Block]]:
        soup = BeautifulSoup(_decode(data), "lxml")
        if soup.body is None:
            raise ConversionError("HTML has no body")
        page_title = " ".join(soup.title.get_text(" ", strip=True).split()) if soup.title else ""
        for selector in _BOILERPLATE:
            for node in soup.select(selector):
                node.decompose()
        root: Tag = (
            soup.find("main") or soup.find("article") or soup.find(id="contingut") or soup.body
        )
        blocks: list[Block] = []
        for node in root.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "td"]):
            if node.find_parent(["li", "td"]) is not None and node.name in ("p",):
                continue
            text = " ".join(normalise_text(node.get_text(" ", strip=True)).split())
            if not text:
                continue
            level = int(node.name[1]) if node.name.startswith("h") else 0
            if node.name == "li":
                text = f"- {text}"
            blocks.append(Block(text, level))
        if not blocks:
            raise ConversionError("HTML has no main text")
        h1 = next((b.text for b in blocks if b.level == 1), None)
        return h1 or page_title or blocks[0].text, blocks
