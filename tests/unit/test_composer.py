"""AnswerComposer on constructed hits: facts copied with citations, follow-ups answered for
every listed resource, refusals that say why, source text kept inert."""

from __future__ import annotations

import datetime as dt
from typing import Any

from assistant.ask.analysis import analyse
from assistant.ask.decision import Decision
from assistant.ask.evidence import Evidence
from assistant.composer import AnswerComposer, fact_kinds, inert
from assistant.composer.answers import shift_citations
from assistant.llm.check import check_answer
from assistant.models import Hit
from index_config.analyzer import CatalanAnalyzer

ANALYZER = CatalanAnalyzer()
TODAY = dt.date(2022, 3, 1)
COMPOSER = AnswerComposer(ANALYZER, "l'Oficina (93 400 00 00)")


def resource(codi: str, title: str, **meta: Any) -> Hit:
    base = {"tipologia": "tècnic", "classe": "Assistència tècnica", "area": "Àrea de Cultura",
            "destinataris": ["Ajuntaments"], "tram_poblacio": "Tots els municipis",
            "descripcio": f"{title}. Recurs de prova."}  # fmt: skip
    base.update(meta)
    return Hit(id=codi, doc_id=codi, kind="recurs", title=title, snippet="", score=1.0,
               source="cataleg.jsonl", codi=codi, metadata=base)  # fmt: skip


def article(title: str, text: str) -> Hit:
    return Hit(id=title, doc_id="doc:regim", kind="normativa", title=title, snippet="", score=1.0,
               source="regim.pdf", article=title.split(".")[0],
               metadata={"text": text, "doc_title": "Règim regulador"})  # fmt: skip


EXHIBITION = resource(
    "22110",
    "Exposició itinerant sobre els ODS",
    descripcio=(
        "Mostra itinerant de plafons sobre els ODS. La Diputació presta l'exposició durant un "
        "període de dues a quatre setmanes i en fa el transport."
    ),
    requisits=["Disposar d'un espai cobert d'almenys 60 m²"],
)
GRANT = resource(
    "22133",
    "Ajuts per a xarxes wifi",
    tipologia="econòmic",
    classe="Ajut econòmic",
    **{"import": "Fins a 20.000 € per ens", "aportacio_local": "Cofinançament del 15%"},
)


def test_a_follow_up_after_a_list_answers_for_every_resource() -> None:
    follow = analyse("I l'import?", ANALYZER, has_history=True)
    composed = COMPOSER.follow_up(follow, [GRANT, EXHIBITION], TODAY)
    assert composed is not None
    assert [h.codi for h in composed.cited] == ["22133", "22110"]
    assert "Fins a 20.000 € per ens [1]" not in composed.text  # the citation follows the name
    assert "(codi 22133) [1]: Fins a 20.000 € per ens" in composed.text
    assert "(codi 22110) [2]:" in composed.text and "no té import econòmic" in composed.text
    assert check_answer(composed.text, composed.cited) == []


def test_a_duration_is_quoted_from_the_sentence_that_states_it() -> None:
    follow = analyse("Quant de temps ens la deixen?", ANALYZER, has_history=True)
    composed = COMPOSER.follow_up(follow, [EXHIBITION], TODAY)
    assert composed is not None
    assert "dues a quatre setmanes" in composed.text
    assert composed.cited == [EXHIBITION]


def test_a_requirement_is_answered_from_the_field() -> None:
    follow = analyse("I quin espai ens cal?", ANALYZER, has_history=True)
    composed = COMPOSER.follow_up(follow, [EXHIBITION], TODAY)
    assert composed is not None and "60 m²" in composed.text


def test_the_best_resource_shows_its_requirements_unasked() -> None:
    """A condition such as the notice to give decides whether a resource fits; only the
    first (best) card carries it, so a list stays short."""
    loan = resource(
        "22111",
        "Préstec de material per a actes",
        requisits=["Sol·licitar-lo amb quinze dies d'antelació", "Retornar-lo", "A", "B"],
    )
    asked = analyse("Ens poden deixar banderes per a una inauguració?", ANALYZER)
    composed = COMPOSER.resources(asked, [loan, EXHIBITION], TODAY)
    assert "- Requisits: Sol·licitar-lo amb quinze dies d'antelació; Retornar-lo; A\n" in (
        composed.text
    )
    assert "60 m²" not in composed.text  # the second card's requirement is not listed
    assert check_answer(composed.text, composed.cited) == []


def test_fact_kinds_of_sentences() -> None:
    assert "duration" in fact_kinds("L'exposició es presta durant tres setmanes.")
    assert "amount" in fact_kinds("Fins a 40.000 € per projecte.")
    assert "date" in fact_kinds("Es justifica abans del 31 de març de 2023.")
    assert "role" in fact_kinds("La sol·licitud la signa l'alcalde o l'alcaldessa.")
    assert not fact_kinds("Un recurs per a tots els municipis.")


def test_a_rules_answer_quotes_the_sentence_with_the_asked_date() -> None:
    rule = article(
        "Article 26. Justificació",
        "La justificació es presenta per mitjans electrònics. Els ajuts es justifiquen "
        "abans del 31 de març de 2023. L'ens pot demanar una ampliació.",
    )
    composed = COMPOSER.regulation(analyse("Fins quan podem justificar?", ANALYZER), [rule])
    assert "«" in composed.text and "31 de març de 2023" in composed.text
    assert composed.text.startswith("Segons l'**Article 26. Justificació** del Règim regulador [1]")


def test_a_short_article_is_quoted_whole_and_a_long_one_by_its_best_sentences() -> None:
    """A rule and its exception sit in different paragraphs: a short article is quoted
    whole, whatever words the question shares with each paragraph."""
    short = article(
        "Article 10. Llicències",
        "1. Cada titular pot tenir una sola llicència per animal.\n"
        "2. No hi ha límit de llicències per titular.",
    )
    question = analyse("Podem tenir dues llicències per al mateix gos?", ANALYZER)
    composed = COMPOSER.regulation(question, [short])
    assert "1. Cada titular pot tenir una sola llicència per animal. 2. No hi ha" in composed.text
    long_text = "1. Cada titular pot tenir una sola llicència per animal.\n" + "\n".join(
        f"{n}. El registre de l'any {2000 + n} es consulta a l'oficina de cens."
        for n in range(2, 12)
    )
    narrow = AnswerComposer(ANALYZER, "l'Oficina", whole_quote_chars=200)
    composed = narrow.regulation(question, [article("Article 11. Registre", long_text)])
    assert "una sola llicència" in composed.text and "2011" not in composed.text


def decision(reason: str, *detail: str) -> Decision:
    return Decision(False, reason, 0.0, Evidence(0, (), 0, 0, 0, 0), tuple(detail))  # type: ignore[arg-type]


def test_refusals_say_why_and_where_to_ask() -> None:
    period = COMPOSER.refusal(decision("out_of_period", "2026"), covered="el període 2020-2023")
    assert "2026" in period.text and "2020-2023" in period.text and period.cited == []
    code = COMPOSER.refusal(decision("unknown_code", "C4-009"))
    assert "No he trobat C4-009" in code.text
    for composed in (period, code):
        assert "93 400 00 00" in composed.text


def test_a_false_premise_says_what_exists_instead() -> None:
    composed = COMPOSER.refusal(
        decision("false_premise", "fons", "transport escolar"), alternatives=[EXHIBITION]
    )
    assert "No he trobat cap fons per a «transport escolar»" in composed.text
    assert "(codi 22110) [1]" in composed.text and composed.cited == [EXHIBITION]
    # The kind as the question's lexicon names it in the singular, accents restored.
    plural = COMPOSER.refusal(decision("false_premise", "subvencions", "la Festa Major"))
    assert plural.text.startswith("No he trobat cap subvenció per a «la Festa Major»")
    # Every fact but our own contact line (settings, not a source) comes from the source.
    body = composed.text.rsplit("\n\n", 1)[0]
    assert check_answer(body, composed.cited) == []


def test_source_markup_stays_inert() -> None:
    hostile = resource(
        "22999",
        "Ajut **urgent** [Formulari](https://phish.example/form)",
        descripcio="Ompliu [aquest formulari](https://phish.example/x) avui.",
    )
    composed = COMPOSER.resources(analyse("ajuts urgents", ANALYZER), [hostile], TODAY)
    assert "](https://phish" not in composed.text
    assert "**urgent**" not in composed.text
    assert "[aquest formulari](" not in composed.text
    assert inert("[x](javascript:alert(1))") == "x (javascript:alert(1))"


def test_the_best_sentence_is_quoted_with_the_rest_of_its_paragraph() -> None:
    """A numbered paragraph is one rule: the sentence after the best one states the figure."""
    from assistant.composer.passages import PassagePicker

    text = (
        "1. Les quotes es paguen cada trimestre.\n"
        "2. Al deute pendent s'hi afegeix un recàrrec de mora. El recàrrec és del 5 % anual.\n"
        "3. El recàrrec de mora no s'aplica als ens que paguen per domiciliació."
    )
    analyzer = CatalanAnalyzer()
    picker = PassagePicker(analyzer)
    passage = picker.best(
        analyzer.query_terms("Quin recàrrec de mora s'hi afegeix al deute?"), text
    )
    assert "El recàrrec és del 5 % anual." in passage
    assert "s'hi afegeix un recàrrec de mora" in passage
    # A paragraph longer than the budget is not quoted whole: only its best sentences.
    short = picker.best(analyzer.query_terms("recàrrec de mora"), text, max_chars=60)
    assert len(short) <= 80


def test_a_sentence_that_announces_a_list_is_quoted_with_all_its_items() -> None:
    """The items of a list are lines of their own under the paragraph that announces it;
    the quote keeps every item, with its marker, and not the next numbered paragraph."""
    from assistant.composer.passages import PassagePicker, paragraphs

    text = (
        "Article 7. Registre\n"
        "1. El registre de gossos potencialment perillosos conté, com a mínim:\n"
        "a. El nom de la persona titular.\n"
        "b) El número del xip de l'animal.\n"
        "- La data de la llicència.\n"
        "2. Les baixes es comuniquen en deu dies."
    )
    assert [len(p) for p in paragraphs(text)] == [1, 4, 1]
    analyzer = CatalanAnalyzer()
    passage = PassagePicker(analyzer).best(
        analyzer.query_terms("què ha de contenir el registre de gossos perillosos?"), text
    )
    assert "com a mínim: a) El nom de la persona titular. b) El número del xip" in passage
    assert "- La data de la llicència." in passage
    assert "baixes" not in passage
    # When the items do not all fit, the quote stops before the first one left out.
    short = PassagePicker(analyzer).best(
        analyzer.query_terms("què ha de contenir el registre de gossos perillosos?"),
        text,
        max_chars=110,
    )
    assert "a) El nom" in short and "xip" not in short and "llicència" not in short


def test_the_best_card_quotes_the_description_sentence_that_answers() -> None:
    """The card shows the description's first sentence; when another one shares more of
    the question's words, it is quoted too (and only on the best card)."""
    activities = resource(
        "22436",
        "Activitats de salut a l'escola",
        descripcio=(
            "Activitats educatives als centres sobre hàbits saludables. Hi ha tallers "
            "d'alimentació. També s'hi poden demanar exposicions interactives sobre el sucre "
            "amagat, que s'instal·len dues setmanes."
        ),
    )
    asked = analyse("I exposicions, també en porten?", ANALYZER, has_history=True)
    composed = COMPOSER.resources(asked, [activities, EXHIBITION], TODAY)
    assert "la fitxa diu: «També s'hi poden demanar exposicions interactives" in composed.text
    assert composed.text.count("la fitxa diu") == 1
    assert check_answer(composed.text, composed.cited) == []
    # Nothing quoted when the lead already says what the question asks.
    lead_only = analyse("Activitats sobre hàbits saludables als centres?", ANALYZER)
    plain = COMPOSER.resources(lead_only, [activities], TODAY)
    assert "la fitxa diu" not in plain.text


def test_a_related_resource_quotes_its_card_when_it_states_the_fact_asked() -> None:
    # The rule gives way to the card: the card's own execution deadline is quoted.
    rule = article(
        "Article 18. Període d'execució",
        "Les actuacions s'han d'executar abans del 31 de desembre de 2022, excepte que la "
        "fitxa del recurs estableixi un període diferent.",
    )
    works = resource(
        "22307",
        "Ajuts per a l'adequació d'equipaments socials",
        tipologia="econòmic",
        requisits=["Titularitat municipal", "Execució de l'obra abans del 30 de juny de 2023"],
    )
    question = analyse("Fins quan tenim per acabar l'obra?", ANALYZER)
    composed = COMPOSER.with_related(
        COMPOSER.regulation(question, [rule]), [works], question, TODAY
    )
    last = composed.text.split("\n\n")[-1]
    assert "(codi 22307) [2]" in last
    assert "la fitxa diu: «Execució de l'obra abans del 30 de juny de 2023»" in last
    assert check_answer(composed.text, composed.cited) == []


def test_a_related_resource_quotes_nothing_when_its_card_does_not_share_the_question() -> None:
    rule = article("Article 18. Període d'execució", "Les actuacions s'executen dins el 2022.")
    exhibition = resource(
        "22110", "Exposició itinerant", requisits=["Sol·licitud abans del 15 de març de 2022"]
    )
    question = analyse("Fins quan tenim per acabar l'obra?", ANALYZER)
    composed = COMPOSER.with_related(
        COMPOSER.regulation(question, [rule]), [exhibition], question, TODAY
    )
    assert "la fitxa diu" not in composed.text  # a date, but about applying, not the works


def test_a_related_resource_states_the_asked_fact_its_card_keeps_in_a_field() -> None:
    rule = article(
        "Article 11. Documentació",
        "Només cal adjuntar la documentació complementària que exigeixi la fitxa del recurs.",
    )
    wifi = resource(
        "22133",
        "Ajuts per a xarxes wifi",
        tipologia="econòmic",
        documentacio=["Projecte tècnic o memòria valorada", "Plànol d'ubicació"],
        **{"import": "Fins a 20.000 € per ens"},
    )
    question = analyse("I quina documentació hem de presentar?", ANALYZER, has_history=True)
    composed = COMPOSER.with_related(COMPOSER.regulation(question, [rule]), [wifi], question, TODAY)
    last = composed.text.split("\n\n")[-1]
    assert last == (
        "Recurs relacionat: **Ajuts per a xarxes wifi** (codi 22133) [2]. La seva fitxa demana: "
        "Projecte tècnic o memòria valorada; Plànol d'ubicació."
    )
    assert check_answer(composed.text, composed.cited) == []
    # A fact the card has no field for keeps the amount.
    other = analyse("I qui ha de signar la sol·licitud?", ANALYZER, has_history=True)
    plain = COMPOSER.with_related(COMPOSER.regulation(other, [rule]), [wifi], other, TODAY)
    assert "import: Fins a 20.000 € per ens" in plain.text


LENDING = resource(
    "22111",
    "Préstec de material per a actes",
    tipologia="material",
    classe="Préstec",
    descripcio="Préstec de carpes i cadires per a actes públics. El préstec és gratuït i dura "
    "com a màxim una setmana.",
)


def test_what_a_material_support_costs_is_quoted_from_its_card() -> None:
    follow = analyse("I quant hem de pagar?", ANALYZER, has_history=True)
    composed = COMPOSER.follow_up(follow, [LENDING], TODAY)
    assert composed is not None
    assert "no té import econòmic" in composed.text
    assert "«El préstec és gratuït i dura com a màxim una setmana»" in composed.text


def test_a_card_without_a_cost_sentence_says_only_what_its_fields_say() -> None:
    follow = analyse("I quant hem de pagar?", ANALYZER, has_history=True)
    composed = COMPOSER.follow_up(follow, [EXHIBITION], TODAY)
    assert composed is not None
    assert "no té import econòmic" in composed.text and "La fitxa diu" not in composed.text


SMALL_TOWNS = resource(
    "22413",
    "Plans estratègics de cultura",
    destinataris=["Ajuntaments", "Consells comarcals"],
    tram_poblacio="Municipis de més de 3.000 habitants",
)


def test_whether_a_town_may_apply_is_read_from_the_band() -> None:
    for people, verdict in (("2.500", "no hi pot accedir"), ("4.000", "sí que hi pot accedir")):
        follow = analyse(
            f"I un poble de {people} habitants també el pot demanar?", ANALYZER, has_history=True
        )
        assert "destinataris" in follow.facets
        composed = COMPOSER.follow_up(follow, [SMALL_TOWNS], TODAY)
        assert composed is not None
        assert "(municipis de més de 3.000 habitants)" in composed.text
        assert f"un municipi de {people} habitants {verdict}" in composed.text


def test_whether_a_body_may_apply_is_read_from_the_recipients() -> None:
    follow = analyse("I si som una mancomunitat, el podem demanar?", ANALYZER, has_history=True)
    composed = COMPOSER.follow_up(follow, [SMALL_TOWNS, GRANT], TODAY)
    assert composed is not None
    assert composed.text.count("la fitxa no inclou mancomunitats entre els destinataris") == 2
    follow = analyse("I un consell comarcal el pot demanar?", ANALYZER, has_history=True)
    composed = COMPOSER.follow_up(follow, [SMALL_TOWNS], TODAY)
    assert composed is not None
    assert "la fitxa sí que inclou consells comarcals entre els destinataris" in composed.text


COMMUNICATION_PLAN = resource(
    "22101",
    "Redacció de plans de comunicació",
    tram_poblacio="Municipis de menys de 20.000 habitants",
    destinataris=["Ajuntaments", "Consells comarcals"],
)


def test_a_refusal_for_resources_set_aside_says_who_they_are_for() -> None:
    town = analyse("Som 30.000 habitants: ens poden fer un pla de comunicació?", ANALYZER)
    refused = COMPOSER.refusal(
        decision("ineligible"), ineligible=[COMMUNICATION_PLAN], analysis=town
    )
    assert "no per a un municipi de 30.000 habitants" in refused.text
    assert "(codi 22101) [1]: és per a municipis de menys de 20.000 habitants." in refused.text
    assert refused.cited == [COMMUNICATION_PLAN]
    assert "l'Oficina (93 400 00 00)" in refused.text


def test_a_resource_set_aside_for_its_recipients_lists_them() -> None:
    body = analyse("Som un consorci: ens poden fer un pla de comunicació?", ANALYZER)
    refused = COMPOSER.refusal(
        decision("ineligible"), ineligible=[COMMUNICATION_PLAN], analysis=body
    )
    assert "el poden demanar ajuntaments, consells comarcals." in refused.text


def test_an_answer_names_the_closer_resources_set_aside_first() -> None:
    town = analyse("Som 30.000 habitants: ens poden fer un pla de comunicació?", ANALYZER)
    answer = COMPOSER.resources(town, [EXHIBITION, GRANT], TODAY)
    told = COMPOSER.with_ineligible(answer, [COMMUNICATION_PLAN], town)
    assert told.text.startswith(
        "El recurs del Catàleg de serveis que més s'hi acosta no és per a un municipi de "
        "30.000 habitants:\n- **Redacció de plans de comunicació** (codi 22101) [1]: és per a "
        "municipis de menys de 20.000 habitants."
    )
    assert told.cited == [COMMUNICATION_PLAN, EXHIBITION, GRANT]
    # The answer's own citations follow their sources.
    assert "(codi 22110) [2]" in told.text and "(codi 22133) [3]" in told.text
    assert "[1]" not in told.text.split("\n\n", 1)[1]


def test_citations_shift_but_links_kept_from_sources_do_not() -> None:
    text = "Vegeu [el formulari](https://seu.exemple.cat/f) [1] i la fitxa [2]."
    assert (
        shift_citations(text, 2)
        == "Vegeu [el formulari](https://seu.exemple.cat/f) [3] i la fitxa [4]."
    )
