"""Catalan register checks: one register (vós, as the answers use) and known mistakes.

Addressing the reader as tu ("Escriu la teva pregunta", "Torna-ho a provar", "vols") is
flagged; so are the accent of "soc" (the current norm has none), a missing elision
("de Arranjament", "el àmbit") and "assistant" for "assistent" in Catalan text.
Labels of controls and commands keep the usual imperative of Catalan interfaces ("Cerca",
"Envia", "Tanca l'assistent", "Obre la fitxa"): a label is not a sentence addressed to
the reader, and the rule only reads sentences and phrases around them.
"""

from __future__ import annotations

import re

_L = r"[\w·’']"  # a letter of a Catalan word (apostrophes and the punt volat included)
_START = rf"(?<!{_L})"
_END = rf"(?!{_L})"

# Second person singular, as a sentence addresses the reader.
TU_FORMS = [
    r"tu",
    r"teu", r"teva", r"teus", r"teves",
    r"vols", r"pots", r"tens", r"saps", r"creus", r"demanes", r"hauries", r"puguis",
    r"vulguis", r"siguis", r"vas", r"ets", r"fas", r"podràs", r"trobaràs", r"rebràs",
    r"escriu", r"escriu-me", r"torna-ho", r"torna", r"prova", r"prova'n", r"comprova",
    r"espera", r"resumeix", r"adreça't", r"menciona'm", r"pregunta'm", r"avisa", r"envia'ns",
    r"et", r"t'\w+", r"\w+-te",
]  # fmt: skip
MISTAKES = {
    "sóc (la norma actual escriu «soc»)": rf"{_START}[Ss]óc{_END}",
    "falta una elisió (d', l')": (
        rf"{_START}(?:[Dd]e|[Ee]l)\s+(?:[aeoàèéíòóúAEOÀÈÉÍÒÓÚ]|[iuIU](?![aeiouàèéíòóú])|[hH][aeiouàèéíòóú])"
    ),
    "«assistant» en un text català (assistent)": rf"{_START}[Aa]ssistant(?=\s+(?:i|del?|de la)\s)",
}
_TU = re.compile(rf"{_START}(?:{'|'.join(TU_FORMS)}){_END}", re.IGNORECASE)
_MISTAKES = {name: re.compile(pattern) for name, pattern in MISTAKES.items()}


def problems(text: str) -> list[str]:
    """What in `text` breaks the register or the norm (empty: nothing)."""
    found = [f"tractament de tu: «{m.group(0)}»" for m in _TU.finditer(text)]
    for name, pattern in _MISTAKES.items():
        found += [f"{name}: «{m.group(0)}…»" for m in pattern.finditer(text)]
    return found
