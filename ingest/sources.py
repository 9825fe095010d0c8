"""Resolve what `concerta ingest` was given (files, folders, URLs) into readable items and
convert each item into ConvertedDocuments with the right converter."""

from __future__ import annotations

import fnmatch
from collections.abc import Container
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx

from ingest.converters.base import (
    ConversionError,
    ConvertedDocument,
    content_hash,
    doc_id_for,
    sections_to_documents,
)
from ingest.converters.catalogue import CatalogueRecordConverter, RecordError
from ingest.converters.docx import DocxConverter
from ingest.converters.html import HtmlConverter
from ingest.converters.markdown import MarkdownConverter, TextConverter
from ingest.converters.pdf import PdfConverter
from ingest.structure import split_sections

IGNORED = ("SCHEMA.md", "README*", ".*", "*~")
STRUCTURED = (
    PdfConverter(),
    DocxConverter(),
    HtmlConverter(),
    MarkdownConverter(),
    TextConverter(),
)
_CONTENT_TYPES = {
    "application/pdf": ".pdf",
    "text/html": ".html",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "text/markdown": ".md",
    "text/plain": ".txt",
    "application/jsonl": ".jsonl",
    "application/x-ndjson": ".jsonl",
}


@dataclass(frozen=True)
class SourceItem:
    """One file or URL; `key` is its absolute path or URL (what documents remember)."""

    key: str
    name: str
    extension: str
    is_url: bool = False


@dataclass
class SourceFailure:
    source: str
    reason: str
    # A file that failed as a whole protects its previously indexed documents.
    whole_file: bool = True


def resolve(sources: list[str]) -> tuple[list[str], list[SourceItem], list[SourceFailure]]:
    """Scopes (absolute paths/URLs given), the items inside them, and missing sources."""
    scopes: list[str] = []
    items: list[SourceItem] = []
    failures: list[SourceFailure] = []
    for source in sources:
        if source.startswith(("http://", "https://")):
            scopes.append(source)
            url_path = Path(urlparse(source).path)
            name = url_path.name or urlparse(source).netloc
            items.append(SourceItem(source, name, url_path.suffix.lower(), is_url=True))
            continue
        path = Path(source).expanduser().resolve()
        scopes.append(str(path))
        if path.is_file():
            items.append(SourceItem(str(path), path.name, path.suffix.lower()))
        elif path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                rel_parts = file.relative_to(path).parts
                if any(fnmatch.fnmatch(part, pat) for part in rel_parts for pat in IGNORED):
                    continue
                items.append(SourceItem(str(file), file.name, file.suffix.lower()))
        else:
            failures.append(SourceFailure(source, "no such file or directory"))
    # A file given on its own and inside a folder too is one item.
    unique = list({item.key: item for item in items}.values())
    return scopes, unique, failures


def read_item(item: SourceItem, timeout: float = 30.0) -> tuple[bytes, str]:
    """The bytes of an item and its effective extension."""
    if not item.is_url:
        try:
            return Path(item.key).read_bytes(), item.extension
        except OSError as exc:
            raise ConversionError(f"cannot read file ({exc.strerror or exc})") from exc
    try:
        response = httpx.get(item.key, timeout=timeout, follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise ConversionError(f"cannot fetch URL ({exc.__class__.__name__}: {exc})") from exc
    extension = item.extension
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if extension not in _supported_extensions():
        extension = _CONTENT_TYPES.get(content_type, extension)
    return response.content, extension


def _supported_extensions() -> set[str]:
    exts = {ext for conv in STRUCTURED for ext in conv.extensions}
    return exts | set(CatalogueRecordConverter.extensions)


def convert_item(
    item: SourceItem,
    max_words: int,
    overlap: int,
    fingerprint: str,
    indexed: Container[tuple[str, str]] = frozenset(),
) -> tuple[list[ConvertedDocument], list[SourceFailure]]:
    """Convert one item. Raises ConversionError when the whole item is unusable;
    returns per-record failures for catalogue lines that are not valid records.

    `indexed`: (doc_id, doc_hash) of the served version. A document found there with the
    same hash is not converted again: it comes back without chunks (unchanged)."""
    data, extension = read_item(item)
    if not data.strip():
        raise ConversionError("empty file")
    url = item.key if item.is_url else None
    if extension in CatalogueRecordConverter.extensions:

        def doc_hash_of(record_hash: str) -> str:
            return content_hash(f"{record_hash}:{fingerprint}".encode())

        pairs, recognised, errors = CatalogueRecordConverter().convert_changed(
            data, item.name, lambda doc_id, h: (doc_id, doc_hash_of(h)) in indexed
        )
        docs = [
            ConvertedDocument(doc_id, "recurs", item.name, item.key, "", doc_hash_of(h))
            for doc_id, h in recognised
        ]
        for chunk, record_hash in pairs:
            chunk.meta["source_path"] = item.key
            doc_hash = doc_hash_of(record_hash)
            chunk.meta["doc_hash"] = doc_hash
            docs.append(
                ConvertedDocument(
                    doc_id=chunk.meta["doc_id"],
                    kind="recurs",
                    source=item.name,
                    source_path=item.key,
                    title=chunk.meta["title"],
                    content_hash=doc_hash,
                    chunks=[chunk],
                )
            )
        failures = [_record_failure(item, e) for e in errors]
        return docs, failures
    converter = next((c for c in STRUCTURED if extension in c.extensions), None)
    if converter is None:
        raise ConversionError(f"unsupported file type '{extension or item.name}'")
    doc_id = doc_id_for(Path(item.name))
    doc_hash = content_hash(data + fingerprint.encode())
    if (doc_id, doc_hash) in indexed:
        return [ConvertedDocument(doc_id, "", item.name, item.key, "", doc_hash)], []
    title, blocks = converter.blocks(data)
    sections = split_sections(blocks, title)
    if not sections:
        raise ConversionError("no text sections found")
    chunks = sections_to_documents(
        sections,
        doc_id=doc_id,
        source=item.name,
        doc_title=title,
        url=url,
        max_words=max_words,
        overlap=overlap,
        extra_meta={"source_path": item.key, "doc_hash": doc_hash},
    )
    kind = "faq" if any(c.meta["kind"] == "faq" for c in chunks) else "normativa"
    return [ConvertedDocument(doc_id, kind, item.name, item.key, title, doc_hash, chunks)], []


def _record_failure(item: SourceItem, error: RecordError) -> SourceFailure:
    return SourceFailure(
        f"{item.name}:{error.line}", str(error).split(": ", 1)[-1], whole_file=False
    )
