"""The parser's own rules: limits, identifiers, subjects, charsets, quote stripping."""

from __future__ import annotations

import time

import pytest

from comptoir.channels.email.charsets import codec_for, decode_bytes
from comptoir.channels.email.parse import (
    MAX_PARTS,
    ParseError,
    decode_header_value,
    normalize_subject,
    parse_email,
)
from comptoir.channels.email.quotes import strip_quotes_html, strip_quotes_text

HEAD = b"From: Claire <claire@example.fr>\r\nTo: support@desk.example\r\nSubject: x\r\n"


def _many_parts(n: int) -> bytes:
    parts = [
        HEAD + b'Content-Type: multipart/mixed; boundary="p"\r\n\r\n--p\r\n'
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nLe texte d'abord.\r\n"
    ]
    for i in range(n):
        parts.append(
            f'--p\r\nContent-Type: application/octet-stream; name="f{i}.bin"\r\n'
            f"Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n".encode()
        )
    parts.append(b"--p--\r\n")
    return b"".join(parts)


def test_a_thousand_parts_are_capped_quickly_and_the_text_is_kept():
    raw = _many_parts(1000)
    start = time.perf_counter()
    parsed = parse_email(raw)
    assert time.perf_counter() - start < 5
    assert "Le texte d'abord." in parsed.visible_text
    assert len(parsed.attachments) == MAX_PARTS - 2  # the root and the text part count too
    assert any(d.startswith("too-many-parts") for d in parsed.defects)


@pytest.mark.parametrize("depth", [25, 150, 3000])
def test_absurd_nesting_is_bounded_and_the_text_is_kept(depth):
    raw = HEAD
    for i in range(depth):
        raw += f'Content-Type: multipart/mixed; boundary="n{i}"\r\n\r\n--n{i}\r\n'.encode()
    raw += b"Content-Type: text/plain\r\n\r\nTout au fond.\r\n"
    start = time.perf_counter()
    parsed = parse_email(raw)
    assert time.perf_counter() - start < 5
    assert "Tout au fond." in parsed.visible_text
    assert any(d.startswith("too-deep") for d in parsed.defects)


def test_something_that_is_not_bytes_is_refused_with_a_parse_error():
    with pytest.raises(ParseError):
        parse_email("From: a@b.c\n\nx")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw", [b"", b"\r\n", b"garbage without headers", b"\xff\xfe\x00\x01" * 50]
)
def test_junk_bytes_give_an_empty_but_valid_result(raw):
    parsed = parse_email(raw)
    assert parsed.from_email == ""
    assert parsed.defects


def test_identifiers_are_stripped_of_brackets_and_lower_cased():
    parsed = parse_email(
        HEAD + b"Message-ID: < ABC.Def@Host.Example >\r\nIn-Reply-To: <X@Y> <z@w>\r\n"
        b"References: junk <R1@H>\r\n <R2@H>\r\n\r\nbody"
    )
    assert parsed.message_id == "abc.def@host.example"
    assert parsed.in_reply_to == ("x@y", "z@w")
    assert parsed.references == ("r1@h", "r2@h")


def test_a_message_id_without_brackets_is_kept():
    parsed = parse_email(HEAD + b"Message-ID: plain-id-123\r\n\r\nbody")
    assert parsed.message_id == "plain-id-123"


def test_a_naive_or_broken_date_never_raises():
    date = parse_email(HEAD + b"Date: Mon, 3 Mar 2025 10:00:00 -0000\r\n\r\nx").date
    assert date is not None
    assert date.tzinfo is not None
    broken = parse_email(HEAD + b"Date: le 3 mars vers midi\r\n\r\nx")
    assert broken.date is None
    assert "date-invalid" in broken.defects


@pytest.mark.parametrize(
    ("subject", "normalized"),
    [
        ("Re: Commande 12", "Commande 12"),
        ("RE: TR: Fwd: Commande 12", "Commande 12"),
        ("Réf : Commande 12", "Commande 12"),
        ("AW: WG: Bestellung", "Bestellung"),
        ("Re[2]: Commande", "Commande"),
        ("TR : Re :  Commande   12", "Commande 12"),
        ("[Fwd: Commande 12]", "Commande 12"),
        ("Réponse automatique", "Réponse automatique"),
        ("Reclamation: Commande", "Reclamation: Commande"),
    ],
)
def test_normalize_subject_strips_reply_and_forward_prefixes(subject, normalized):
    assert normalize_subject(subject) == normalized


def test_subject_keeps_its_reply_prefix_for_display():
    assert (
        parse_email(HEAD.replace(b"Subject: x", b"Subject: TR: Re: bonjour") + b"\r\nx").subject
        == "TR: Re: bonjour"
    )


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("=?utf-8?B?w6k=?=", "é"),
        ("=?utf-8?B?w6k?=", "é"),  # padding missing
        ("=?UTF-8?Q?caf=C3?= =?UTF-8?Q?=A9?=", "café"),  # a character split across words
        ("=?utf-8*fr?Q?d=C3=A9j=C3=A0?=", "déjà"),  # RFC 2231 language tag
        ("=?x-unknown?Q?caf=E9?=", "café"),
        ("plain =?utf-8?Q?mot?= plain", "plain mot plain"),
        ("=?utf-8?Q?a?=\r\n =?utf-8?Q?b?=", "ab"),
        ("=?broken", "=?broken"),
    ],
)
def test_encoded_words_are_decoded_tolerantly(raw, decoded):
    assert decode_header_value(raw) == decoded


@pytest.mark.parametrize("label", ["base64", "rot13", "zlib", "hex", "uu", "quopri"])
def test_codec_names_that_are_not_charsets_are_ignored(label):
    assert codec_for(label) == ""
    assert decode_bytes("é".encode(), label)[0] == "é"


def test_charset_fallback_order_is_utf8_then_windows_1252():
    assert decode_bytes("été".encode(), None) == ("été", True)
    assert decode_bytes("€".encode("cp1252"), "utf-8") == ("€", True)
    assert decode_bytes(b"\x81\x8d", "utf-8")[0] == "\x81\x8d"  # latin-1: never fails
    assert decode_bytes(b"abc", "no-such-charset") == ("abc", True)


def test_quote_stripping_never_leaves_nothing():
    text = "> only a quote\n> nothing else\n"
    assert strip_quotes_text(text) == text.strip()
    html = '<div class="gmail_quote">On Mon, X wrote:<blockquote>all quoted</blockquote></div>'
    assert "all quoted" in strip_quotes_html(html)


def test_a_closing_formula_mid_message_is_not_taken_for_a_signature():
    text = (
        "Bonjour,\n\nCordialement,\nle produit est cassé et je voudrais un échange.\n"
        + "Détail.\n" * 10
    )
    assert "je voudrais un échange" in strip_quotes_text(text)


def test_a_forwarded_message_is_kept_whole():
    text = (
        "FYI\n\n-------- Message transféré --------\n"
        "De : A <a@b.c>\nDate : hier\nObjet : X\n\nContenu.\n"
    )
    assert "Contenu." in strip_quotes_text(text)


def test_signature_delimiter_and_sent_from_lines_are_removed():
    assert strip_quotes_text("Merci pour l'aide rapide.\n\n-- \nJean Dupont\n06 00 00 00 00\n") == (
        "Merci pour l'aide rapide."
    )
    assert strip_quotes_text("Ok pour moi.\n\nSent from my iPhone\n") == "Ok pour moi."
    assert strip_quotes_text("Ok pour moi.\n\nObtenir Outlook pour Android\n") == "Ok pour moi."


def test_headers_map_exposes_filter_headers_and_imitations_of_ours():
    parsed = parse_email(
        HEAD + b"Auto-Submitted: auto-replied\r\nX-Comptoir-Ticket: 12\r\nX-Other: no\r\n"
        b"Precedence: bulk\r\nPrecedence: list\r\n\r\nx"
    )
    assert parsed.headers["auto-submitted"] == "auto-replied"
    assert parsed.headers["x-comptoir-ticket"] == "12"
    assert parsed.headers["precedence"] == "bulk, list"
    assert "x-other" not in parsed.headers


def test_display_name_equal_to_the_address_is_dropped():
    parsed = parse_email(b"From: claire@example.fr <claire@example.fr>\r\n\r\nx")
    assert parsed.from_email == "claire@example.fr"
    assert parsed.from_name == ""


def test_display_names_with_commas_and_encoded_words_are_parsed_before_decoding():
    parsed = parse_email(
        b'From: "Dupont, =?utf-8?Q?J=C3=A9r=C3=B4me?=" <J.Dupont@Example.fr>\r\n\r\nx'
    )
    assert parsed.from_email == "j.dupont@example.fr"
    assert parsed.from_name == "Dupont, Jérôme"
