"""The mailgun/talon fixtures (Apache-2.0) in ../shared/corpus/mail/mailgun-talon/.

Expectations are those transcribed in its expectations.derived.json (see its NOTICE.md):
quotation stripping of whole .eml replies and of HTML bodies, and signature removal. Where our
deliberately conservative rules cannot meet an expectation, the case is marked xfail with the
reason (talon uses a trained classifier for signatures; we only strip explicit markers).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from comptoir.channels.email.parse import parse_email
from comptoir.channels.email.quotes import strip_quotes_html, strip_quotes_text
from comptoir.core.sanitize import html_to_text

REPO = Path(__file__).resolve().parents[4]
TALON = REPO.parent / "shared" / "corpus" / "mail" / "mailgun-talon"
FIXTURES = TALON / "tests" / "fixtures"
EXPECTATIONS = TALON / "expectations.derived.json"

pytestmark = pytest.mark.skipif(
    not EXPECTATIONS.exists(), reason=f"third-party corpus absent ({TALON}); CI provides it"
)


def _expectations() -> dict:
    return json.loads(EXPECTATIONS.read_text(encoding="utf-8")) if EXPECTATIONS.exists() else {}


EXP = _expectations()

XFAIL = {
    "reply-separated-by-hr.html": "talon also drops the sign-off name 'Bob' above the <hr>; we "
    "cut at the <hr> + From: block only and keep what the sender wrote above it",
    "signature/emails/stripped/jeff_body": "name-only signature ('Stavros Xxxxxx / via mobile') "
    "needs talon's trained classifier; we strip explicit signature markers only",
    "signature/emails/stripped/johndoeexamplecom_body": "'#sig#'-prefixed block without a "
    "delimiter: classifier territory",
    "signature/emails/stripped/long_body": "name/phone/URL block without a delimiter: classifier "
    "territory",
    "signature/emails/stripped/sparse_body": "a 16-dash line is not a signature delimiter for us "
    "(too many false positives on underlined titles)",
}


def _param(name: str):  # type: ignore[no-untyped-def]
    marks = [pytest.mark.xfail(reason=XFAIL[name], strict=True)] if name in XFAIL else []
    return pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", [_param(n) for n in EXP.get("standard_replies", {})])
def test_standard_reply_keeps_only_the_new_text(name):
    expected = EXP["standard_replies"][name]
    parsed = parse_email((FIXTURES / name).read_bytes())
    want = expected.get("expected_reply_text_stripped")
    if want is None:
        want = (FIXTURES / expected["expected_reply_text_stripped_file"]).read_text().strip()
    # Upstream checks quotation removal only (signatures stay): same here.
    assert strip_quotes_text(parsed.body_text, signatures=False).strip() == want
    # And the full pipeline's visible text is that reply, at most minus its signature.
    assert parsed.visible_text and parsed.visible_text in want


@pytest.mark.parametrize("name", [_param(n) for n in EXP.get("html", {})])
def test_html_reply_keeps_only_the_new_part(name):
    html = (FIXTURES / name).read_text(encoding="utf-8", errors="replace")
    want = EXP["html"][name]["expected_reply_text_whitespace_insensitive"]
    got = html_to_text(strip_quotes_html(html, signatures=False))
    assert re.sub(r"\s", "", got) == re.sub(r"\s", "", want)


def test_share_block_reply_is_cut_before_the_quoted_headers():
    assert "reply-quotations-share-block.eml" in EXP.get("other", {})
    raw = (FIXTURES / "reply-quotations-share-block.eml").read_text(
        encoding="utf-8", errors="replace"
    )
    got = strip_quotes_text(raw, signatures=False)
    assert got.strip()
    assert "From" not in got


@pytest.mark.parametrize("name", [_param(n) for n in EXP.get("signature_stripped", {})])
def test_signature_is_removed(name):
    spec = EXP["signature_stripped"][name]
    body = (FIXTURES / name).read_text(encoding="utf-8").strip()
    signature = (FIXTURES / spec["expected_signature_file"]).read_text(encoding="utf-8").strip()
    want = body[: len(body) - len(signature)].strip() if signature else body
    assert strip_quotes_text(body) == want
