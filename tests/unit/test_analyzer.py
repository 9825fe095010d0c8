"""CatalanAnalyzer: the Catalan text analysis shared by the sparse document and query sides."""

from __future__ import annotations

from pathlib import Path

import pytest

from index_config.analyzer import CatalanAnalyzer, SynonymMap, as_written, fold, light_stem
from index_config.settings import AnalyzerSettings
from index_config.sparse_document_embedder import CatalanSparseDocumentEmbedder
from index_config.sparse_text_embedder import CatalanSparseTextEmbedder
from index_config.sparse_vectors import term_index, to_sparse


@pytest.fixture(scope="module")
def analyzer() -> CatalanAnalyzer:
    # Folding, stems and synonyms; the dictionary's lemmas are tests/unit/test_lemmas.py's.
    return CatalanAnalyzer(AnalyzerSettings(lemmas=False))


def terms(analyzer: CatalanAnalyzer, text: str) -> set[str]:
    return set(analyzer.term_weights(text))


# Elisions -----------------------------------------------------------------------------
@pytest.mark.parametrize("apostrophe", ["'", "’", "‘", "ʼ"])
def test_elided_articles_and_pronouns_are_split_off(
    analyzer: CatalanAnalyzer, apostrophe: str
) -> None:
    text = f"l{apostrophe}aigua d{apostrophe}habitatge s{apostrophe}ha n{apostrophe}hi m{apostrophe}agrada"
    assert analyzer.tokens(text) == ["aigua", "habitatge", "agrada"]


def test_elided_word_matches_the_bare_word(analyzer: CatalanAnalyzer) -> None:
    assert analyzer.tokens("L’Ajuntament") == analyzer.tokens("ajuntament") == ["ajuntament"]
    assert terms(analyzer, "d’habitatge") == terms(analyzer, "habitatge")


def test_enclitic_pronouns_are_split_off(analyzer: CatalanAnalyzer) -> None:
    assert analyzer.tokens("porta'n dóna'm") == ["porta", "dona"]


# Case, accents, punt volat -----------------------------------------------------------
def test_lowercase_and_accent_folding(analyzer: CatalanAnalyzer) -> None:
    assert fold("Plaça") == fold("placa") == "placa"
    assert fold("SUBVENCIÓ") == "subvencio"
    assert terms(analyzer, "PLAÇA") == terms(analyzer, "plaça") == terms(analyzer, "placa")
    assert terms(analyzer, "camí") == terms(analyzer, "cami")


@pytest.mark.parametrize(
    "variant", ["col·lectiu", "COL·LECTIU", "coŀlectiu", "COĿLECTIU", "collectiu"]
)
def test_punt_volat_spellings_give_the_same_terms(analyzer: CatalanAnalyzer, variant: str) -> None:
    assert analyzer.term_weights(variant) == analyzer.term_weights("collectiu")


def test_fold_normalises_the_punt_volat_written_with_a_full_stop() -> None:
    assert fold("col·lecció") == fold("col.lecció") == fold("coŀlecció") == "colleccio"


@pytest.mark.parametrize("text", ["col.lectiu", "COL.LECTIU", "legionel.la"])
def test_punt_volat_written_with_a_full_stop_matches(analyzer: CatalanAnalyzer, text: str) -> None:
    assert analyzer.term_weights(text) == analyzer.term_weights(text.replace(".", "·"))


# Plurals ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("plural", "singular"),
    [
        ("places", "plaça"),
        ("camins", "camí"),
        ("biblioteques", "biblioteca"),
        ("subvencions", "subvenció"),
        ("escoles", "escola"),
        ("projectes", "projecte"),
        ("ajuts", "ajut"),
        ("municipis", "municipi"),
        ("Ajuntaments", "ajuntament"),
    ],
)
def test_plural_and_singular_share_their_precise_term(
    analyzer: CatalanAnalyzer, plural: str, singular: str
) -> None:
    assert light_stem(fold(plural)) == light_stem(fold(singular))
    assert terms(analyzer, plural) & terms(analyzer, singular)


def test_light_stem_keeps_different_words_apart() -> None:
    # The Snowball stemmer conflates these; the precise term must not.
    assert light_stem("ajuts") != light_stem("aigua")
    assert light_stem("residus") != light_stem("res")
    assert light_stem("2022") == "2022"


def test_each_word_gives_a_precise_term_and_a_weaker_snowball_stem(
    analyzer: CatalanAnalyzer,
) -> None:
    weights = analyzer.term_weights("biblioteques")
    assert weights["bibliotec"] == 1.0
    stems = {t: w for t, w in weights.items() if t.startswith("~")}
    assert len(stems) == 1
    assert next(iter(stems.values())) == analyzer.settings.surface_weight


@pytest.mark.parametrize("mode", ["stem", "light"])
def test_single_term_modes(mode: str) -> None:
    only = CatalanAnalyzer(AnalyzerSettings(mode=mode, lemmas=False))  # type: ignore[arg-type]
    weights = only.term_weights("biblioteques")
    assert len(weights) == 1
    assert next(iter(weights)).startswith("~") == (mode == "stem")


# Stopwords and codes -------------------------------------------------------------------
def test_stopwords_are_removed(analyzer: CatalanAnalyzer) -> None:
    assert analyzer.tokens("el de la per als amb i que") == []
    tokens = analyzer.tokens("Quins ajuts hi ha per a la biblioteca?")
    assert {"hi", "ha", "per", "a", "la"}.isdisjoint(tokens)
    assert {"ajuts", "biblioteca"} <= set(tokens)


def test_form_codes_stay_one_token(analyzer: CatalanAnalyzer) -> None:
    assert analyzer.tokens("el formulari C4-005") == ["formulari", "c4005"]
    assert analyzer.term_weights("C4-005")["c4005"] == 1.0
    assert analyzer.term_weights("c4-005") == analyzer.term_weights("C4-005")


def test_numbers_are_kept_without_stemming(analyzer: CatalanAnalyzer) -> None:
    assert analyzer.term_weights("codi 22426")["22426"] == 1.0
    assert not any(t.startswith("~22") for t in analyzer.term_weights("22426"))


# Synonyms -------------------------------------------------------------------------------
def test_synonyms_expand_on_the_query_side_only(analyzer: CatalanAnalyzer) -> None:
    document = analyzer.term_weights("wifi")
    query = analyzer.query_terms("wifi")
    assert set(document) <= set(query)
    assert all(query[t] == document[t] for t in document)
    expanded = set(query) - set(document)
    assert "connectivitat" in expanded


def test_synonym_expansions_weigh_less_than_the_users_words(analyzer: CatalanAnalyzer) -> None:
    query = analyzer.query_terms("subvenció wifi")
    own = analyzer.term_weights("subvenció wifi")
    expanded = {t: w for t, w in query.items() if t not in own}
    assert expanded, "subvenció and wifi have synonyms in synonyms.yaml"
    assert max(expanded.values()) <= analyzer.settings.synonym_weight
    assert min(query[t] for t in own if not t.startswith("~")) > max(expanded.values())
    assert query["ajut"] == pytest.approx(analyzer.settings.synonym_weight)
    assert query["subvencio"] == 1.0


def test_one_way_rewrites_do_not_expand_back(analyzer: CatalanAnalyzer) -> None:
    assert "bibliotec" in analyzer.query_terms("biblio")
    assert "biblio" not in analyzer.query_terms("biblioteca")


def test_synonym_map_matches_whole_words_only() -> None:
    synonyms = SynonymMap({"poli": ("poliesportiu",)})
    assert synonyms.expansions("el poli nou") == ["poliesportiu"]
    assert synonyms.expansions("politica municipal") == []


def test_synonym_map_loads_groups_both_ways(tmp_path: Path) -> None:
    path = tmp_path / "synonyms.yaml"
    path.write_text(
        "groups:\n  - [Llums, enllumenat]\nrewrites:\n  biblio: [Biblioteca]\n", "utf-8"
    )
    synonyms = SynonymMap.load(path)
    assert synonyms.entries["llums"] == ("enllumenat",)
    assert synonyms.entries["enllumenat"] == ("llums",)
    assert synonyms.entries["biblio"] == ("biblioteca",)
    assert "biblioteca" not in synonyms.entries


# Term indices and sparse embedders ------------------------------------------------------
def test_term_indices_are_stable_across_processes_and_versions() -> None:
    # CRC-32 values computed once: a change here would silently break every built index.
    assert term_index("bibliotec") == 1351158036
    assert term_index("~plac") == 40849775
    assert all(0 <= term_index(t) < 2**31 for t in ("a", "c4005", "subvencio"))


def test_to_sparse_sorts_indices_and_drops_zero_weights() -> None:
    sparse = to_sparse({"b": 1.0, "a": 0.5, "zero": 0.0})
    assert sparse.indices == sorted([term_index("a"), term_index("b")])
    assert dict(zip(sparse.indices, sparse.values, strict=True)) == {
        term_index("a"): 0.5,
        term_index("b"): 1.0,
    }


def test_query_and_document_embedders_share_terms_for_inflected_forms() -> None:
    from haystack import Document

    query = CatalanSparseTextEmbedder().run(text="places")["sparse_embedding"]
    docs = CatalanSparseDocumentEmbedder().run(
        documents=[Document(content="Reurbanització de la plaça major", meta={"title": "Plaça"})]
    )["documents"]
    doc_sparse = docs[0].sparse_embedding
    assert doc_sparse is not None
    assert set(query.indices) & set(doc_sparse.indices)


def test_document_embedder_boosts_the_title() -> None:
    from haystack import Document

    embedder = CatalanSparseDocumentEmbedder()
    plain, titled = embedder.run(
        documents=[
            Document(content="Manteniment de camins", meta={}),
            Document(content="Manteniment de camins", meta={"title": "Camins"}),
        ]
    )["documents"]
    assert plain.sparse_embedding is not None and titled.sparse_embedding is not None
    idx = term_index("cami")
    plain_w = dict(zip(plain.sparse_embedding.indices, plain.sparse_embedding.values, strict=True))
    titled_w = dict(
        zip(titled.sparse_embedding.indices, titled.sparse_embedding.values, strict=True)
    )
    assert titled_w[idx] > plain_w[idx]


def test_sparse_embedders_round_trip_through_to_dict() -> None:
    doc = CatalanSparseDocumentEmbedder(analyzer={"mode": "light"}, field_boosts={"title": 3.0})
    again = CatalanSparseDocumentEmbedder.from_dict(doc.to_dict())
    assert again.analyzer_settings.mode == "light"
    assert again.field_boosts == {"title": 3.0}
    text = CatalanSparseTextEmbedder(analyzer={"synonym_weight": 0.3})
    assert (
        CatalanSparseTextEmbedder.from_dict(text.to_dict()).analyzer_settings.synonym_weight == 0.3
    )


def test_a_folded_span_is_recovered_as_its_writer_wrote_it() -> None:
    question = "Hi ha ajuts per al Manteniment del cementiri de Sant Martí?"
    assert as_written(question, "manteniment del cementiri de sant marti") == (
        "Manteniment del cementiri de Sant Martí"
    )
    # The punt volat, however it was typed, and elisions survive the round trip.
    assert as_written("per a la col·lecció d'art", "colleccio d'art") == "col·lecció d'art"
    assert as_written("per a la col.lecció", "colleccio") == "col.lecció"
    assert as_written("per a la coŀlecció", "colleccio") == "coŀlecció"
    # A span the text does not have is returned as it came.
    assert as_written("Hi ha ajuts?", "prestacio") == "prestacio"
