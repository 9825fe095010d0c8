"""Everything the bot says, in Catalan (HTML-safe: these strings contain no user input)."""

from __future__ import annotations

# Three questions officials really ask; /start shows them as buttons.
EXAMPLE_QUESTIONS: tuple[str, ...] = (
    "Quins ajuts hi ha per arreglar camins municipals?",
    "Poble de 800 habitants: què podem demanar per a la biblioteca?",
    "Fins quan puc justificar l'ajut de l'any passat?",
)

START = (
    "Hola! Sóc l'assistent del <b>Pla de concertació Xarxa de Governs Locals 2020-2023</b>.\n\n"
    "Responc preguntes sobre el Catàleg de serveis, el Protocol general i els règims "
    "reguladors, i sempre t'indico les fonts perquè les puguis comprovar.\n\n"
    "Escriu la teva pregunta o prova'n una d'aquestes:"
)

HELP = (
    "<b>Com funciona</b>\n"
    "Escriu una pregunta en un missatge i et respondré amb les fonts. Pots fer preguntes "
    "de seguiment: recordo el fil de la conversa.\n\n"
    "<b>Ordres</b>\n"
    "/cerca <i>text</i> — llista de recursos i articles que hi coincideixen\n"
    "/obert — recursos amb el termini de sol·licitud obert avui\n"
    "/nova — comença una conversa nova (oblida l'anterior)\n"
    "/ajuda — aquesta ajuda\n\n"
    "Als grups, menciona'm (@{username}) o respon un dels meus missatges."
)

COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "Què fa aquest bot"),
    ("ajuda", "Ajuda i ordres"),
    ("cerca", "Cerca recursos i articles"),
    ("obert", "Recursos amb el termini obert avui"),
    ("nova", "Comença una conversa nova"),
)

NEW_CONVERSATION = "D'acord, comencem una conversa nova. Què vols saber?"
SEARCH_USAGE = "Escriu què vols cercar després de l'ordre, per exemple: /cerca camins rurals"
SEARCH_EMPTY = "No he trobat cap recurs ni article per a «{query}»."
SEARCH_HEADER = "<b>Resultats per a «{query}»</b>"
OPEN_HEADER = "<b>Recursos amb el termini de sol·licitud obert avui ({today})</b>"
OPEN_EMPTY = "Avui no hi ha cap recurs del catàleg amb el termini de sol·licitud obert."

UNSUPPORTED_MEDIA = "De moment només entenc missatges de text. Escriu-me la pregunta, si us plau."
EMPTY_MESSAGE = "Escriu-me la pregunta, si us plau."
TOO_LONG = (
    "El missatge és massa llarg ({length} caràcters). Resumeix la pregunta en menys de "
    "{limit} caràcters, si us plau."
)
RATE_LIMITED = "Vas massa de pressa: espera uns segons abans d'enviar més missatges, si us plau."
NOT_ALLOWED = (
    "Ho sento, aquest bot només està disponible per als ens i el personal autoritzats. "
    "Si creus que hi hauries de tenir accés, adreça't a l'Oficina del Pla XGL."
)
UNEXPECTED_ERROR = (
    "Ho sento, hi ha hagut un error inesperat. Torna-ho a provar d'aquí a una estona."
)
INDEX_NOT_READY = (
    "L'índex de documents encara no està preparat. Torna-ho a provar d'aquí a una estona."
)
BACKEND_UNAVAILABLE = (
    "Ara mateix no puc connectar amb l'assistent. Torna-ho a provar d'aquí a una estona."
)

SOURCES_HEADER = "<b>Fonts</b>"
MORE_DETAILS = "Més detalls"
OPEN_CARD = "Obrir la fitxa"
BACK_TO_ANSWER = "Tornar a la resposta"
THUMBS_UP = "👍"
THUMBS_DOWN = "👎"

FEEDBACK_THANKS_UP = "Gràcies! M'alegro que t'hagi estat útil."
FEEDBACK_THANKS_DOWN = "Gràcies per dir-m'ho: ens ajuda a millorar."
FEEDBACK_FAILED = "No he pogut desar la valoració. Torna-ho a provar més tard."
RESOURCE_NOT_FOUND = "No he trobat la fitxa d'aquest recurs."
ANSWER_EXPIRED = "Aquesta resposta ja no està disponible. Torna a fer la pregunta."
BUTTON_EXPIRED = "Aquest botó ja no està disponible."
