"""Everything the bot says, in Catalan, addressing the user as vós like the answers do
(HTML-safe: these strings contain no user input)."""

from __future__ import annotations

# Three questions officials really ask; /start shows them as buttons.
EXAMPLE_QUESTIONS: tuple[str, ...] = (
    "Quins ajuts hi ha per arreglar camins municipals?",
    "Poble de 800 habitants: què podem demanar per a la biblioteca?",
    "Fins quan puc justificar l'ajut de l'any passat?",
)

START = (
    "Hola! Soc l'assistent del <b>Pla de concertació Xarxa de Governs Locals 2020-2023</b>.\n\n"
    "Responc preguntes sobre el Catàleg de serveis, el Protocol general i els règims "
    "reguladors, i sempre us indico les fonts perquè les pugueu comprovar.\n\n"
    "Escriviu la vostra pregunta o proveu-ne una d'aquestes:"
)

HELP = (
    "<b>Com funciona</b>\n"
    "Escriviu una pregunta en un missatge i us respondré amb les fonts. Podeu fer preguntes "
    "de seguiment: recordo el fil de la conversa.\n\n"
    "<b>Ordres</b>\n"
    "/cerca <i>text</i> — llista de recursos i articles que hi coincideixen\n"
    "/obert — recursos amb el termini de sol·licitud obert i els que s'obren aviat\n"
    "/nova — comença una conversa nova (oblida l'anterior)\n"
    "/ajuda — aquesta ajuda\n\n"
    "Als grups, mencioneu-me (@{username}) o responeu un dels meus missatges."
)

COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "Què fa aquest bot"),
    ("ajuda", "Ajuda i ordres"),
    ("cerca", "Cerca recursos i articles"),
    ("obert", "Terminis de sol·licitud oberts i propers"),
    ("nova", "Comença una conversa nova"),
)

NEW_CONVERSATION = "D'acord, comencem una conversa nova. Què voleu saber?"
SEARCH_USAGE = "Escriviu què voleu cercar després de l'ordre, per exemple: /cerca camins rurals"
SEARCH_EMPTY = "No he trobat cap recurs ni article per a «{query}»."
SEARCH_HEADER = "<b>Resultats per a «{query}»</b>"

# /obert: the windows on the reference date (CONCERTA_TODAY, or today).
OPEN_HEADER = "<b>Terminis de sol·licitud a {date}</b>"
OPEN_REFERENCE = "<i>Data de referència: {date}</i>"
OPEN_NOW = "<b>Oberts ara</b>"
OPEN_SOON = "<b>S'obren aviat</b>"
OPEN_ALL_YEAR = (
    "A més, {count} recursos es poden sol·licitar tot l'any (podeu cercar-los amb /cerca)."
)
OPEN_EMPTY = "A {date} no hi ha cap recurs del catàleg amb el termini de sol·licitud obert."

UNSUPPORTED_MEDIA = "De moment només entenc missatges de text. Escriviu-me la pregunta, si us plau."
EMPTY_MESSAGE = "Escriviu-me la pregunta, si us plau."
TOO_LONG = (
    "El missatge és massa llarg ({length} caràcters). Resumiu la pregunta en menys de "
    "{limit} caràcters, si us plau."
)
RATE_LIMITED = "Aneu massa de pressa: espereu uns segons abans d'enviar més missatges, si us plau."
NOT_ALLOWED = (
    "Ho sento, aquest bot només està disponible per als ens i el personal autoritzats. "
    "Si creieu que hi hauríeu de tenir accés, adreceu-vos a l'Oficina del Pla XGL."
)
UNEXPECTED_ERROR = (
    "Ho sento, hi ha hagut un error inesperat. Torneu-ho a provar d'aquí a una estona."
)
INDEX_NOT_READY = (
    "L'índex de documents encara no està preparat. Torneu-ho a provar d'aquí a una estona."
)
BACKEND_UNAVAILABLE = (
    "Ara mateix no puc connectar amb l'assistent. Torneu-ho a provar d'aquí a una estona."
)

SOURCES_HEADER = "<b>Fonts</b>"
CHOICES_HINT = "<i>Per veure la resposta sobre un sol recurs, trieu-lo amb els botons.</i>"
ONLY_ABOUT = "Només"
PICKED = "<i>{question} — sobre «{title}»</i>"
MORE_DETAILS = "Més detalls"
OPEN_CARD = "Obrir la fitxa"
BACK_TO_ANSWER = "Tornar a la resposta"
THUMBS_UP = "👍"
THUMBS_DOWN = "👎"

FEEDBACK_THANKS_UP = "Gràcies! M'alegro que us hagi estat útil."
FEEDBACK_THANKS_DOWN = "Gràcies per dir-nos-ho: ens ajuda a millorar."
FEEDBACK_FAILED = "No he pogut desar la valoració. Torneu-ho a provar més tard."
RESOURCE_NOT_FOUND = "No he trobat la fitxa d'aquest recurs."
ANSWER_EXPIRED = "Aquesta resposta ja no està disponible. Torneu a fer la pregunta."
BUTTON_EXPIRED = "Aquest botó ja no està disponible."
