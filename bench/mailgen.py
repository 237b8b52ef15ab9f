"""Realistic French/English customer mail for the benchmarks (parse.py, ingest.py)."""

from __future__ import annotations

import base64
import random

WORDS = [
    "bonjour",
    "commande",
    "livraison",
    "facture",
    "retard",
    "colis",
    "merci",
    "problème",
    "produit",
    "remboursement",
    "adresse",
    "client",
    "numéro",
    "suivi",
    "service",
    "réponse",
    "délai",
    "urgent",
    "question",
    "compte",
    "accès",
    "mot",
    "de",
    "passe",
    "hello",
    "order",
    "delivery",
    "invoice",
    "refund",
    "account",
    "access",
    "please",
    "thanks",
    "issue",
    "update",
]
NAMES = ["Élodie Martin", "Jean Dupont", "Zoë Faure", "Bob Smith", "Ana García", "Li Wei"]
PDF = base64.b64encode(b"%PDF-1.4\n" + bytes(range(256)) * 3).decode()


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def para(rng: random.Random, sentences: int) -> str:
    return " ".join(sentence(rng, rng.randint(6, 14)) for _ in range(sentences))


def encoded(value: str) -> str:
    """An RFC 2047 encoded word, as mail clients write non-ASCII names and subjects."""
    return "=?utf-8?b?" + base64.b64encode(value.encode()).decode() + "?="


def body_parts(
    rng: random.Random,
    *,
    name: str,
    body: str,
    reply: bool,
    support: str,
    with_html: bool,
    with_attachment: bool,
) -> list[str]:
    """The MIME lines after the headers: text (+HTML), a quoted original when `reply`,
    and a small PDF when `with_attachment`."""
    quote = ""
    if reply:
        quote = f"\n\nLe lun. 3 mars 2025 à 09:00, Support <{support}> a écrit :\n" + "\n".join(
            "> " + line for line in para(rng, 3).split(". ")
        )
    text = f"Bonjour,\n\n{body}\n\nCordialement,\n{name}{quote}\n"
    parts = [
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        text,
    ]
    if with_html:
        html = (
            f'<div dir="ltr"><p>Bonjour,</p><p>{body}</p><p>Cordialement,<br>{name}</p></div>'
            + (
                '<div class="gmail_quote"><div class="gmail_attr">Le lun. 3 mars 2025, Support a '
                f'écrit :</div><blockquote class="gmail_quote">{para(rng, 2)}</blockquote></div>'
                if reply
                else ""
            )
        )
        parts = [
            'Content-Type: multipart/alternative; boundary="b1"',
            "",
            "--b1",
            *parts,
            "--b1",
            "Content-Type: text/html; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
            "",
            html,
            "--b1--",
        ]
    if with_attachment:
        inner = "\r\n".join(parts)
        parts = [
            'Content-Type: multipart/mixed; boundary="m1"',
            "",
            "--m1",
            inner,
            "--m1",
            'Content-Type: application/pdf; name="facture.pdf"',
            'Content-Disposition: attachment; filename="facture.pdf"',
            "Content-Transfer-Encoding: base64",
            "",
            "\r\n".join(PDF[k : k + 76] for k in range(0, len(PDF), 76)),
            "--m1--",
        ]
    return parts
