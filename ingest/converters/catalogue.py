"""CatalogueRecordConverter: the Catàleg de serveis export (JSON Lines), one Document per
resource, its text rendered from the fields and every field kept in metadata."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any, Literal

from haystack import Document
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from index_config.urls import url_host
from ingest.converters.base import ConversionError, content_hash, normalise_text
from ingest.converters.markdown import decode_text


class Window(BaseModel):
    inici: dt.date
    fi: dt.date


class Contact(BaseModel):
    telefon: str | None = None
    email: str | None = None


class CatalogueRecord(BaseModel):
    """A resource as the catalogue export describes it (cataleg/SCHEMA.md)."""

    model_config = ConfigDict(extra="allow")

    codi: str = Field(pattern=r"^\d{5}$")
    any: int
    nom: str = Field(min_length=3)
    area: str
    unitat_prestadora: str = ""
    tipologia: Literal["tècnic", "econòmic", "material"]
    classe: str
    ambit: str = ""
    descripcio: str = Field(min_length=10)
    actuacions: list[str] = []
    destinataris: list[str] = []
    tram_poblacio: str = "Tots els municipis"
    termini_sollicitud: Window | None = None
    sollicitud_tot_l_any: bool = False
    import_: str | None = Field(default=None, alias="import")
    aportacio_local: str | None = None
    requisits: list[str] = []
    criteris_valoracio: list[str] = []
    documentacio: list[str] = []
    contacte: Contact = Contact()
    ods: list[int] = []
    etiquetes: list[str] = []
    url: str | None = None

    @field_validator("codi", mode="before")
    @classmethod
    def _codi_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


def _fmt_date(value: dt.date) -> str:
    months = [
        "de gener", "de febrer", "de març", "d'abril", "de maig", "de juny", "de juliol",
        "d'agost", "de setembre", "d'octubre", "de novembre", "de desembre",
    ]  # fmt: skip
    return f"{value.day} {months[value.month - 1]} de {value.year}"


def application_window(record: CatalogueRecord) -> str:
    """The application window as an official would say it."""
    if record.classe == "Fons de prestació" and record.termini_sollicitud is None:
        return "No cal presentar sol·licitud (fons de prestació)"
    if record.sollicitud_tot_l_any or record.termini_sollicitud is None:
        return f"Es pot sol·licitar durant tot l'any {record.any}"
    w = record.termini_sollicitud
    # "De l'1 de febrer ... a l'11 de març": the article elides before 1 and 11.
    start = f"De l'{_fmt_date(w.inici)}" if w.inici.day in (1, 11) else f"Del {_fmt_date(w.inici)}"
    end = f"a l'{_fmt_date(w.fi)}" if w.fi.day in (1, 11) else f"al {_fmt_date(w.fi)}"
    return f"{start} {end}"


def render_content(r: CatalogueRecord) -> str:
    """The resource as readable Catalan text; the most distinctive fields come first
    because the dense model only reads the first few hundred word pieces."""
    lines = [
        r.nom,
        f"Recurs {r.tipologia} ({r.classe}) amb codi {r.codi}. {r.area}"
        + (f", {r.unitat_prestadora}." if r.unitat_prestadora else "."),
    ]
    if r.etiquetes:
        lines.append("Temes: " + ", ".join(r.etiquetes) + ".")
    if r.actuacions:
        lines.append("Actuacions: " + "; ".join(r.actuacions) + ".")
    lines.append(r.descripcio.strip())
    lines.append("Destinataris: " + ", ".join(r.destinataris) + f". Població: {r.tram_poblacio}.")
    lines.append("Termini de sol·licitud: " + application_window(r) + ".")
    if r.import_:
        lines.append(f"Import: {r.import_}.")
    if r.aportacio_local:
        lines.append(f"Aportació local: {r.aportacio_local}.")
    if r.requisits:
        lines.append("Requisits: " + "; ".join(r.requisits) + ".")
    if r.criteris_valoracio:
        lines.append("Criteris de valoració: " + "; ".join(r.criteris_valoracio) + ".")
    if r.documentacio:
        lines.append("Documentació: " + "; ".join(r.documentacio) + ".")
    if r.ambit:
        lines.append(f"Àmbit: {r.ambit}.")
    return normalise_text("\n".join(lines))


def record_metadata(r: CatalogueRecord) -> dict[str, Any]:
    window = r.termini_sollicitud
    year_start, year_end = dt.date(r.any, 1, 1), dt.date(r.any, 12, 31)
    # Resources requested all year are open during the whole catalogue year; prestation
    # funds need no application, so they have no window at all.
    no_application = r.classe == "Fons de prestació" and window is None
    opens = window.inici if window else (None if no_application else year_start)
    closes = window.fi if window else (None if no_application else year_end)
    return {
        "codi": r.codi,
        "any": r.any,
        "nom": r.nom,
        "area": r.area,
        "unitat_prestadora": r.unitat_prestadora,
        "tipologia": r.tipologia,
        "classe": r.classe,
        "ambit": r.ambit,
        "actuacions": r.actuacions,
        "destinataris": r.destinataris,
        "tram_poblacio": r.tram_poblacio,
        "termini": application_window(r),
        "termini_inici": opens.isoformat() if opens else None,
        "termini_fi": closes.isoformat() if closes else None,
        # Integer dates (YYYYMMDD) make the obert_a range filter simple in any Qdrant.
        "termini_inici_num": int(opens.strftime("%Y%m%d")) if opens else None,
        "termini_fi_num": int(closes.strftime("%Y%m%d")) if closes else None,
        "sollicitud_tot_l_any": r.sollicitud_tot_l_any,
        "import": r.import_,
        "aportacio_local": r.aportacio_local,
        "requisits": r.requisits,
        "criteris_valoracio": r.criteris_valoracio,
        "documentacio": r.documentacio,
        "telefon": r.contacte.telefon,
        "email": r.contacte.email,
        "ods": r.ods,
        "etiquetes": r.etiquetes,
        "descripcio": r.descripcio,
    }


class RecordError(ConversionError):
    """One line of a catalogue export that is not a valid record."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line


class CatalogueRecordConverter:
    """Parses a JSON Lines export; bad lines are reported one by one, good ones kept."""

    extensions = (".jsonl",)

    def convert(
        self, data: bytes, source: str
    ) -> tuple[list[tuple[Document, str]], list[RecordError]]:
        documents, _, errors = self.convert_changed(data, source)
        return documents, errors

    def convert_changed(
        self, data: bytes, source: str, unchanged: Callable[[str, str], bool] | None = None
    ) -> tuple[list[tuple[Document, str]], list[tuple[str, str]], list[RecordError]]:
        """Like convert, but a record for which `unchanged(doc_id, record_hash)` holds is
        only recognised, not validated nor rendered again: it was, when it was indexed,
        and its hash says it has not changed. Returns (documents, recognised (doc_id,
        record_hash) pairs, errors). An unchanged re-ingest of 100,000 resources then costs
        parsing and hashing, not rendering."""
        text = decode_text(data)
        documents: list[tuple[Document, str]] = []
        recognised: list[tuple[str, str]] = []
        errors: list[RecordError] = []
        seen: set[str] = set()
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                if not isinstance(raw, dict):
                    raise RecordError(number, "not a JSON object")
                if unchanged is not None:
                    codi = raw.get("codi")
                    codi = str(codi) if isinstance(codi, int | str) else ""
                    record_hash = _record_hash(raw)
                    if codi not in seen and unchanged(f"recurs:{codi}", record_hash):
                        seen.add(codi)
                        recognised.append((f"recurs:{codi}", record_hash))
                        continue
                record = CatalogueRecord.model_validate(raw)
            except json.JSONDecodeError as exc:
                errors.append(RecordError(number, f"invalid JSON ({exc.msg})"))
                continue
            except ValidationError as exc:
                first = exc.errors()[0]
                field = ".".join(str(p) for p in first["loc"]) or "record"
                errors.append(RecordError(number, f"invalid field '{field}': {first['msg']}"))
                continue
            except RecordError as exc:
                errors.append(exc)
                continue
            if record.codi in seen:
                errors.append(RecordError(number, f"duplicate codi {record.codi}"))
                continue
            seen.add(record.codi)
            doc_id = f"recurs:{record.codi}"
            meta = {
                "doc_id": doc_id,
                "unit_id": doc_id,
                "kind": "recurs",
                "source": source,
                "title": record.nom,
                "doc_title": record.nom,
                "article": None,
                "url": record.url,
                "url_host": url_host(record.url),
                "section_index": 0,
                "piece_index": 0,
                "pieces": 1,
                **record_metadata(record),
            }
            doc = Document(id=f"{doc_id}#0", content=render_content(record), meta=meta)
            documents.append((doc, _record_hash(raw)))
        if not documents and not recognised and not errors:
            raise ConversionError("catalogue file has no records")
        return documents, recognised, errors


def _record_hash(raw: dict[str, Any]) -> str:
    """The hash of a record's fields, whatever their order in the line."""
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return content_hash(canonical)
