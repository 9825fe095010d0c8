"""CatalanThesaurus (MyThes data) and its use for dictionary words the index lacks."""

from __future__ import annotations

from pathlib import Path

from index_config.thesaurus import CatalanThesaurus, parse

DATA = "UTF-8\nendarrerir|2\n-|ajornar|prorrogar|fer tard\n-|retardar\ngastar|1\n-|consumir\nmalformed\n"


def test_mythes_entries_give_one_word_synonyms_by_sense() -> None:
    thesaurus = CatalanThesaurus(parse(DATA))
    assert thesaurus.synonyms("endarrerir") == ("ajornar", "prorrogar")  # first sense only
    assert thesaurus.synonyms("endarrerir", senses=2) == ("ajornar", "prorrogar", "retardar")
    assert thesaurus.synonyms("gastar") == ("consumir",)
    assert thesaurus.synonyms("desconegut") == ()


def test_a_missing_thesaurus_gives_no_synonyms(tmp_path: Path) -> None:
    thesaurus = CatalanThesaurus.load(tmp_path / "absent.dat")
    assert len(thesaurus) == 0 and thesaurus.synonyms("gastar") == ()
