"""PdfConverter: regulations and the protocol as PDF, split by article."""

from __future__ import annotations

import io
import re
from collections import Counter

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from ingest.converters.base import ConversionError, normalise_text
from ingest.structure import Block, _classify_heading

# List items: "1. ", "a. ", "b) ", "- " (not years: "2020. Hi van...").
_LIST_ITEM = re.compile(r"^(\d{1,2}\.|[a-z]\.|[a-z]\)|\d{1,2}\)|[-•·])\s")


def _repeated_lines(pages: list[list[str]]) -> set[str]:
    """Running headers and footers: short lines at the top or bottom of most pages."""
    if len(pages) < 3:
        return set()
    counts: Counter[str] = Counter()
    for lines in pages:
        edge = {ln for ln in lines[:2] + lines[-2:] if len(ln) < 120}
        counts.update(re.sub(r"\d+", "#", ln) for ln in edge)
    threshold = max(2, int(len(pages) * 0.6))
    return {ln for ln, n in counts.items() if n >= threshold}


def _join_hyphenated(lines: list[str], vocabulary: set[str]) -> list[str]:
    """Undo line-end hyphenation: 'desenvo-' + 'lupament' -> 'desenvolupament', but keep
    real hyphens ('2020-' + '2023', 'secretari-' + 'interventor')."""
    out: list[str] = []
    for line in lines:
        if out and out[-1].endswith("-") and line and not out[-1].endswith(" -"):
            left_word = re.findall(r"(\w+)-$", out[-1])
            right_word = re.findall(r"^(\w+)", line)
            if left_word and right_word and (left_word[0] + right_word[0]).lower() in vocabulary:
                out[-1] = out[-1][:-1] + line
            else:
                out[-1] = out[-1] + line
            continue
        out.append(line)
    return out


def _merge_wrapped_headings(lines: list[str], title: str) -> list[str]:
    """Join a heading that wraps onto the next line ("... Meses de" + "concertació"), and
    the document title when it spans several lines."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if title and line != title and title.startswith(line):
            j, joined = i, line
            while j + 1 < len(lines) and title.startswith(f"{joined} {lines[j + 1]}"):
                j += 1
                joined = f"{joined} {lines[j]}"
            if joined == title:
                out.append(title)
                i = j + 1
                continue
        if (
            _classify_heading(line)
            and not line.endswith((".", ":", ";"))
            and i + 1 < len(lines)
            and lines[i + 1][:1].islower()
        ):
            out.append(f"{line} {lines[i + 1]}")
            i += 2
            continue
        out.append(line)
        i += 1
    return out


class PdfConverter:
    """Extracts text with pypdf, removes running headers, rebuilds paragraphs and
    recognises headings by their wording."""

    extensions = (".pdf",)

    def blocks(self, data: bytes) -> tuple[str, list[Block]]:
        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                raise ConversionError("PDF is encrypted")
            pages = [
                [ln.strip() for ln in normalise_text(p.extract_text() or "").splitlines()]
                for p in reader.pages
            ]
            meta_title = reader.metadata.title if reader.metadata else None
        except ConversionError:
            raise
        except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
            raise ConversionError(f"not a readable PDF ({exc.__class__.__name__}: {exc})") from exc
        except Exception as exc:  # pypdf raises many internal types on corrupt files
            raise ConversionError(f"not a readable PDF ({exc.__class__.__name__})") from exc
        repeated = _repeated_lines(pages)
        lines = [
            ln for page in pages for ln in page if ln and re.sub(r"\d+", "#", ln) not in repeated
        ]
        if not lines:
            raise ConversionError("PDF has no extractable text (scanned image?)")
        vocabulary = {w.lower() for ln in lines for w in re.findall(r"\w+", ln)}
        lines = _join_hyphenated(lines, vocabulary)
        title = normalise_text(str(meta_title)).strip() if meta_title else lines[0]
        blocks: list[Block] = []
        paragraph: list[str] = []

        def flush() -> None:
            if paragraph:
                blocks.append(Block(" ".join(paragraph)))
                paragraph.clear()

        for ln in _merge_wrapped_headings(lines, title):
            if _classify_heading(ln) or ln == title:
                flush()
                blocks.append(Block(ln, level=2))
            elif _LIST_ITEM.match(ln):
                flush()
                paragraph.append(ln)
            else:
                # A short line after a paragraph end (or the title) and followed by text is
                # a bold heading ("Exposició de motius", "Preàmbul"): capitalised, no final
                # punctuation.
                after_break = (
                    not blocks
                    or blocks[-1].text == title
                    or (blocks[-1].level == 0 and blocks[-1].text.endswith((".", ":")))
                )
                if (
                    not paragraph
                    and len(ln) < 60
                    and ln[:1].isupper()
                    and not ln.endswith((".", ",", ";", ":"))
                    and after_break
                ):
                    blocks.append(Block(ln, level=2))
                    continue
                paragraph.append(ln)
                if ln.endswith((".", ":", ";")):
                    flush()
        flush()
        return title, blocks
