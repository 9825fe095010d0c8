"""The answers' Markdown subset -> Telegram HTML, and splitting below Telegram's size limit.

Telegram's HTML mode accepts a handful of tags and rejects a message whose markup does
not parse, so every piece of text goes through html.escape and only <b>, <i>, <code> and
<a href> are ever emitted. Telegram clients make any address in plain text tappable, so an
address the answer leaves as text (a link outside the allowlist, quoted from a source)
goes inside <code>, which no client links. Tags never cross a line break, which lets the splitter cut
at paragraph and line boundaries without breaking the markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from assistant.models import Hit
from bots.telegram.texts import SOURCES_HEADER

# Telegram counts 4,096 characters after parsing entities; measuring the raw HTML
# (always longer) and keeping a margin makes every part safe.
TELEGRAM_MESSAGE_LIMIT = 4096
MESSAGE_BUDGET = 4000

_INLINE = re.compile(
    r"\*\*(?P<bold>.+?)\*\*"
    r"|\[(?P<label>[^\[\]\n]+)\]\((?P<url>[^()\s]+)\)"
    r"|\[(?P<cite>\d{1,3})\]"
)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")
_BULLET = re.compile(r"^\s*[-*•]\s+")
# Only web links become <a>: whether Telegram accepts tel: and mailto: in a text link is
# not documented, and a refused link would lose the whole message. Telegram makes phone
# numbers in international form and e-mail addresses tappable by itself.
_SAFE_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
_TAG_OR_ENTITY = re.compile(r"<[^>]*>|&#?\w+;")
# What a Telegram client would make tappable: a URL, "www." or a bare domain (with a path
# or not). Not an e-mail address (its "@" comes before the domain): contacts stay tappable.
_BARE_ADDRESS = re.compile(
    r"(?<![@\w.-])(?:(?:https?|ftp)://[^\s<>«»]+|www\.[^\s<>«»]+"
    r"|[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,24}"
    r"(?:/[^\s<>«»]*)?)(?![\w@-])",
    re.IGNORECASE,
)
_TRAILING_PUNCTUATION = ".,;:!?)»'\""


def escape(text: str) -> str:
    """Escape user or document text for Telegram HTML (apostrophes stay readable)."""
    return html.escape(text, quote=False)


def inert_text(text: str) -> str:
    """Plain text for Telegram HTML with every address in it shown, not linked."""
    out: list[str] = []
    position = 0
    for match in _BARE_ADDRESS.finditer(text):
        address = match.group(0).rstrip(_TRAILING_PUNCTUATION)
        if "." not in address.split("://")[-1]:
            continue
        out.append(escape(text[position : match.start()]))
        out.append(f"<code>{escape(address)}</code>")
        position = match.start() + len(address)
    out.append(escape(text[position:]))
    return "".join(out)


def link(url: str, label_html: str) -> str:
    """An <a> tag, or just the label when the URL is not one Telegram should open."""
    if not _SAFE_URL.match(url):
        return label_html
    return f'<a href="{html.escape(url, quote=True)}">{label_html}</a>'


def telegram_phone(label: str, href: str) -> str:
    """ "93 400 11 20" with its tel: link -> "+34 93 400 11 20" (Telegram links it)."""
    label = label.strip()
    digits, full = re.sub(r"\D", "", label), re.sub(r"\D", "", href)
    if label.startswith("+") or not digits or not full.endswith(digits) or full == digits:
        return label
    return f"+{full[: len(full) - len(digits)]} {label}"


def render_inline(text: str, sources: Sequence[Hit] = (), *, allow_bold: bool = True) -> str:
    """One line of the Markdown subset: **bold**, [text](url) and [n] citations."""
    out: list[str] = []
    position = 0
    for match in _INLINE.finditer(text):
        out.append(inert_text(text[position : match.start()]))
        position = match.end()
        if match.group("bold") is not None:
            inner = render_inline(match.group("bold"), sources, allow_bold=False)
            out.append(f"<b>{inner}</b>" if allow_bold else inner)
        elif match.group("url") is not None:
            url, label = match.group("url"), match.group("label").replace("**", "")
            if url.lower().startswith("tel:"):
                out.append(escape(telegram_phone(label, url)))
            elif url.lower().startswith("mailto:"):
                out.append(escape(label))
            else:
                out.append(link(url, inert_text(label)))
        else:
            out.append(_citation(int(match.group("cite")), sources))
    out.append(inert_text(text[position:]))
    return "".join(out)


def _citation(number: int, sources: Sequence[Hit]) -> str:
    # A citation links straight to its source when the source has a URL.
    marker = f"[{number}]"
    if 1 <= number <= len(sources):
        url = sources[number - 1].url
        if url:
            return link(url, marker)
    return marker


def render_markdown(text: str, sources: Sequence[Hit] = ()) -> str:
    """A whole answer: paragraphs (blank line), "- " bullets, inline markup."""
    blocks = []
    for paragraph in _PARAGRAPH_BREAK.split(text.strip()):
        lines = []
        for line in paragraph.splitlines():
            if not line.strip():
                continue
            if _BULLET.match(line):
                lines.append("• " + render_inline(_BULLET.sub("", line, count=1), sources))
            else:
                lines.append(render_inline(line.strip(), sources))
        if lines:
            blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def source_label(hit: Hit) -> str:
    """A short plain-text reference: the resource code or the article, when there is one."""
    if hit.kind == "recurs" and hit.codi:
        return f"codi {hit.codi}"
    if hit.kind == "normativa" and hit.article:
        return hit.article
    return ""


def render_sources(sources: Sequence[Hit]) -> str:
    """The numbered source list that follows an answer ("[1] Title — codi 22231")."""
    lines = [SOURCES_HEADER]
    for number, hit in enumerate(sources, start=1):
        title = escape(hit.title)
        if hit.url:
            title = link(hit.url, title)
        label = source_label(hit)
        suffix = f" — {escape(label)}" if label else ""
        lines.append(f"[{number}] {title}{suffix}")
    return "\n".join(lines)


def split_message(text: str, limit: int = MESSAGE_BUDGET) -> list[str]:
    """Cut HTML into parts of at most `limit` characters.

    Cuts at paragraph boundaries first, then at line breaks, and only as a last resort
    inside a line (closing and reopening any open tag so each part parses on its own).
    """
    parts = _pack(text, ("\n\n", "\n"), limit)
    return [part.strip() for part in parts if part.strip()]


def _pack(text: str, separators: tuple[str, ...], limit: int) -> list[str]:
    if len(text) <= limit:
        return [text]
    if not separators:
        return _hard_split(text, limit)
    separator, finer = separators[0], separators[1:]
    parts: list[str] = []
    current = ""
    for piece in text.split(separator):
        for sub in _pack(piece, finer, limit) if len(piece) > limit else [piece]:
            candidate = f"{current}{separator}{sub}" if current else sub
            if len(candidate) <= limit:
                current = candidate
            else:
                if current:
                    parts.append(current)
                current = sub
    if current:
        parts.append(current)
    return parts


def _hard_split(text: str, limit: int) -> list[str]:
    """Split inside a line, never inside a tag or an entity, keeping tags balanced."""
    tokens: list[str] = []
    position = 0
    for match in _TAG_OR_ENTITY.finditer(text):
        tokens.extend(text[position : match.start()])
        tokens.append(match.group())
        position = match.end()
    tokens.extend(text[position:])

    parts: list[str] = []
    open_tags: list[tuple[str, str]] = []  # (opening tag as written, tag name)
    current = ""
    for token in tokens:
        after = _apply_tag(open_tags, token)
        closing_after = _closing(after)
        if current and len(current) + len(token) + len(closing_after) > limit:
            parts.append(current + _closing(open_tags))
            current = "".join(tag for tag, _ in open_tags)
        current += token
        open_tags = after
    if current:
        parts.append(current + _closing(open_tags))
    return parts


def _apply_tag(open_tags: list[tuple[str, str]], token: str) -> list[tuple[str, str]]:
    if not token.startswith("<") or len(token) < 3:
        return open_tags
    if token.startswith("</"):
        name = token[2:-1].strip().lower()
        if open_tags and open_tags[-1][1] == name:
            return open_tags[:-1]
        return open_tags
    name = token[1:-1].split()[0].lower() if token[1:-1].strip() else ""
    return [*open_tags, (token, name)]


def _closing(open_tags: list[tuple[str, str]]) -> str:
    return "".join(f"</{name}>" for _, name in reversed(open_tags))
