"""DocxConverter: Word documents, with heading styles where present."""

from __future__ import annotations

import io
import zipfile

import docx
from docx.opc.exceptions import PackageNotFoundError

from ingest.converters.base import ConversionError, normalise_text
from ingest.structure import Block


class DocxConverter:
    extensions = (".docx",)

    def blocks(self, data: bytes) -> tuple[str, list[Block]]:
        try:
            document = docx.Document(io.BytesIO(data))
        except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise ConversionError(f"not a readable DOCX ({exc.__class__.__name__})") from exc
        blocks: list[Block] = []
        for para in document.paragraphs:
            text = normalise_text(para.text).strip()
            if not text:
                continue
            style = (para.style.name if para.style is not None else "") or ""
            level = 0
            if style.lower().startswith("heading"):
                digits = "".join(ch for ch in style if ch.isdigit())
                level = int(digits) if digits else 1
            elif style.lower() == "title":
                level = 1
            elif para.runs and all(r.bold for r in para.runs if r.text.strip()) and len(text) < 120:
                level = 3  # a bold-only line acts as a heading
            blocks.append(Block(text, level))
        for table in document.tables:
            for row in table.rows:
                cells = [normalise_text(c.text).strip() for c in row.cells]
                line = " | ".join(c for c in cells if c)
                if line:
                    blocks.append(Block(line))
        if not blocks:
            raise ConversionError("DOCX has no text")
        core_title = normalise_text(document.core_properties.title or "").strip()
        first_heading = next((b.text for b in blocks if b.level == 1), None)
        title = first_heading or core_title or blocks[0].text
        return title, blocks
