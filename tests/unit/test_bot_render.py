"""Markdown subset -> Telegram HTML, escaping, and splitting below 4,096 characters."""

from __future__ import annotations

import pytest

from assistant.models import Hit
from bots.telegram.render import (
    MESSAGE_BUDGET,
    TELEGRAM_MESSAGE_LIMIT,
    render_inline,
    render_markdown,
    render_sources,
    split_message,
)
from tests.support.fake_bot_api import TelegramHtmlError, parse_telegram_html

BOT_TAGS = {"b", "i", "a", "code"}


def hit(n: int, *, url: str | None = "https://cataleg.exemple.cat/recurs/22231", **kw) -> Hit:
    data = {
        "id": f"c{n}",
        "doc_id": f"d{n}",
        "kind": "recurs",
        "title": f"Recurs {n}",
        "snippet": "",
        "score": 1.0,
        "url": url,
        "source": "cataleg-2022.jsonl",
        "codi": "22231",
    }
    data.update(kw)
    return Hit.model_validate(data)


def plain(html: str) -> str:
    text, _tags = parse_telegram_html(html, BOT_TAGS)
    return text


def test_bold_links_bullets_and_paragraphs():
    md = "Hi ha **un ajut** per a això [1].\n\n- Rebaix de voreres\n- Vegeu [la fitxa](https://cataleg.exemple.cat/recurs/22231)"
    html = render_markdown(md, [hit(1)])
    assert html == (
        'Hi ha <b>un ajut</b> per a això <a href="https://cataleg.exemple.cat/recurs/22231">[1]</a>.'
        "\n\n• Rebaix de voreres\n"
        '• Vegeu <a href="https://cataleg.exemple.cat/recurs/22231">la fitxa</a>'
    )
    assert plain(html).startswith("Hi ha un ajut per a això [1].")


@pytest.mark.parametrize(
    "text",
    [
        "Ajuntament de <Vilanova> & Geltrú",
        'Programa "Camins" d\'estiu <script>alert(1)</script>',
        "a < b && c > d; &amp; literal &lt;",
        "**negreta sense tancar i <i>etiquetes</i>",
        '[enllaç perillós](javascript:alert(1)) i [altre](https://x.cat/a?b=1&c="2")',
        "<b>**dins**</b> [1] [2] [99]",
    ],
)
def test_untrusted_text_is_escaped_into_valid_telegram_html(text):
    html = render_markdown(text, [hit(1, url=None)])
    visible = plain(html)  # raises if Telegram would reject it
    for fragment in ("<Vilanova>", "<script>", "<i>etiquetes</i>", "&amp; literal"):
        if fragment in text:
            assert fragment in visible
    assert "javascript:" not in html or 'href="javascript' not in html


def test_only_http_links_become_anchors():
    html = render_inline("[x](javascript:alert(1)) [y](https://ok.cat)")
    _, tags = parse_telegram_html(html, BOT_TAGS)
    assert [attrs["href"] for _, attrs in tags] == ["https://ok.cat"]


def test_url_with_quotes_and_ampersands_is_attribute_safe():
    html = render_inline('[fitxa](https://x.cat/?a=1&b="2")')
    _, tags = parse_telegram_html(html, BOT_TAGS)
    assert tags[0][1]["href"] == 'https://x.cat/?a=1&b="2"'


def test_citation_without_url_stays_plain():
    assert render_inline("segons [1] i [3]", [hit(1, url=None)]) == "segons [1] i [3]"


def test_sources_list_names_code_and_article():
    sources = [
        hit(1, title="Ajuts <barreres> & rampes"),
        hit(2, kind="normativa", codi=None, article="Article 12", url=None, title="Règim"),
    ]
    html = render_sources(sources)
    text = plain(html)
    assert "[1] Ajuts <barreres> & rampes — codi 22231" in text
    assert "[2] Règim — Article 12" in text


def test_short_message_is_not_split():
    assert split_message("Hola") == ["Hola"]


def test_split_at_paragraph_boundaries():
    paragraphs = [(f"<b>Paràgraf {i}</b> " + "paraula " * 150).strip() for i in range(30)]
    html = "\n\n".join(paragraphs)
    parts = split_message(html)
    assert len(parts) > 1
    assert all(len(part) <= MESSAGE_BUDGET < TELEGRAM_MESSAGE_LIMIT for part in parts)
    # Every part starts at a paragraph and nothing is lost or reordered.
    assert all(part.startswith("<b>Paràgraf") for part in parts)
    assert "\n\n".join(parts) == html
    for part in parts:
        plain(part)


def test_split_long_paragraph_at_lines():
    lines = [f"• línia {i} " + "x" * 300 for i in range(40)]
    html = "\n".join(lines)
    parts = split_message(html)
    assert all(len(p) <= MESSAGE_BUDGET for p in parts)
    assert "\n".join(parts) == html


def test_hard_split_keeps_tags_balanced_and_entities_whole():
    line = "<b>" + "a&amp;b " * 900 + "</b> " + '<a href="https://x.cat">' + "z" * 5000 + "</a>"
    parts = split_message(line, limit=1000)
    assert len(parts) > 5
    assert all(len(p) <= 1000 for p in parts)
    rebuilt = "".join(plain(p) for p in parts)  # each part parses on its own
    assert rebuilt.replace(" ", "") == plain(line).replace(" ", "")


def test_fake_server_parser_rejects_what_telegram_rejects():
    for bad in ("<b>open", "a < b", "x & y", "<div>x</div>", "<b><i>x</b></i>"):
        with pytest.raises(TelegramHtmlError):
            parse_telegram_html(bad)


def test_addresses_left_as_text_are_shown_not_linked():
    """Telegram makes any address in plain text tappable: one the answer leaves as text
    (outside the allowlist) goes in <code>, which no client links."""
    text = "Formulari (https://phish.example/form). Vegeu www.evil.com/x, o evil.com, ara."
    out = render_inline(text)
    assert "<code>https://phish.example/form</code>)." in out
    assert "<code>www.evil.com/x</code>," in out
    assert "<code>evil.com</code>, ara." in out
    assert "<a " not in out


def test_e_mails_numbers_and_allowed_links_are_left_alone():
    assert render_inline("escriviu a usos.temps@exemple.cat") == "escriviu a usos.temps@exemple.cat"
    assert render_inline("l'article 30.4 de la Llei 38/2003") == "l'article 30.4 de la Llei 38/2003"
    out = render_inline("[Fitxa](https://cataleg.exemple.cat/recurs/1) i a.com")
    assert out == '<a href="https://cataleg.exemple.cat/recurs/1">Fitxa</a> i <code>a.com</code>'
    # A link label that is itself an address is not a second, hidden link.
    assert render_inline("[evil.com](ftp://evil.com/x)") == "<code>evil.com</code>"


def test_a_quoted_phishing_address_parses_as_code_and_no_link():
    html = render_markdown("Ompliu el Formulari (https://phish.example/form) [1].", [hit(1)])
    text, tags = parse_telegram_html(html, BOT_TAGS)
    assert "https://phish.example/form" in text
    assert [name for name, _ in tags] == ["code", "a"]  # the code, then the citation's link
    assert all(attrs.get("href") != "https://phish.example/form" for _, attrs in tags)
