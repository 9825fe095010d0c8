"""MarkdownConverter and TextConverter: headings from '#' lines; plain paragraphs."""

from __future__ import annotations

from markdown_it import MarkdownIt

from ingest.converters.base import ConversionError, normalise_text
from ingest.structure import Block


def decode_text(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise ConversionError("binary data, not text")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if (
            encoding == "cp1252"
            and sum(not ch.isprintable() and ch not in "\n\r\t" for ch in text) > 5
        ):
            break
        return text
    raise ConversionError("unreadable text encoding (expected UTF-8)")


class MarkdownConverter:
    extensions = (".md", ".markdown")

    def blocks(self, data: bytes) -> tuple[str, list[Block]]:
        tokens = MarkdownIt().parse(decode_text(data))
        blocks: list[Block] = []
        level = 0
        for token in tokens:
            if token.type == "heading_open":
                level = int(token.tag[1])
            elif token.type == "inline":
                text = normalise_text(token.content).strip()
                if text:
                    blocks.append(Block(text, level))
                level = 0
        if not blocks:
            raise ConversionError("empty Markdown document")
        title = next((b.text for b in blocks if b.level == 1), blocks[0].text)
        return title, blocks


class TextConverter:
    extensions = (".txt",)

    def blocks(self, data: bytes) -> tuple[str, list[Block]]:
        text = normalise_text(decode_text(data))
        paragraphs = [p.strip().replace("\n", " ") for p in text.split("\n\n")]
        blocks = [Block(p) for p in paragraphs if p]
        if not blocks:
            raise ConversionError("empty text file")
        # A short first paragraph is the title: a heading, not body text repeated.
        if len(blocks) > 1 and len(blocks[0].text) <= 120:
            blocks[0] = Block(blocks[0].text, level=1)
        return blocks[0].text[:120], blocks
