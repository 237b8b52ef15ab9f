"""Every scenario of corpus/<name>.eml meets corpus/<name>.expected.json.

Expected fields (all optional): subject, from_email, from_name, message_id, in_reply_to,
references, reply_to, to (exact values); visible_contains / visible_not_contains (visible
text); visible_html_not_contains; text_contains (visible or whole text); body_text_contains /
body_text_not_contains; html_contains / html_not_contains (sanitized whole HTML, which must
also hold in the visible HTML); body_html_empty; attachments (filename, content_type, size,
inline, content_id, in order); is_bounce and bounce (original_message_id, status, action,
failed_recipients, diagnostic_contains); headers (subset of the exposed map);
defects_nonempty. Regenerate the files with corpus/make_corpus.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from comptoir.channels.email.parse import parse_email

CORPUS = Path(__file__).resolve().parent / "corpus"
CASES = sorted(p.name.removesuffix(".eml") for p in CORPUS.glob("*.eml"))


def test_the_corpus_has_at_least_thirty_scenarios():
    assert len(CASES) >= 30
    for name in CASES:
        assert (CORPUS / f"{name}.expected.json").exists(), name


@pytest.mark.parametrize("name", CASES)
def test_scenario_parses_as_expected(name):
    exp = json.loads((CORPUS / f"{name}.expected.json").read_text(encoding="utf-8"))
    parsed = parse_email((CORPUS / f"{name}.eml").read_bytes())

    for field in ("subject", "from_email", "from_name", "message_id"):
        if field in exp:
            assert getattr(parsed, field) == exp[field], field
    for field in ("in_reply_to", "references", "reply_to", "to"):
        if field in exp:
            assert list(getattr(parsed, field)) == exp[field], field

    for needle in exp.get("visible_contains", []):
        assert needle in parsed.visible_text
    for needle in exp.get("visible_not_contains", []):
        assert needle not in parsed.visible_text
    for needle in exp.get("visible_html_not_contains", []):
        assert needle not in parsed.visible_html
    for needle in exp.get("text_contains", []):
        assert needle in parsed.body_text
    for needle in exp.get("body_text_contains", []):
        assert needle in parsed.body_text
    for needle in exp.get("body_text_not_contains", []):
        assert needle not in parsed.body_text
    for needle in exp.get("html_contains", []):
        assert needle in parsed.body_html
    for needle in exp.get("html_not_contains", []):
        assert needle not in parsed.body_html.lower()
        assert needle not in parsed.visible_html.lower()
    if exp.get("body_html_empty"):
        assert parsed.body_html == ""
        assert parsed.visible_html == ""

    if "attachments" in exp:
        got = [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "size": len(a.content),
                "inline": a.is_inline,
                "content_id": a.content_id,
            }
            for a in parsed.attachments
        ]
        assert len(got) == len(exp["attachments"]), got
        for want, have in zip(exp["attachments"], got, strict=True):
            for key, value in want.items():
                assert have[key] == value, (key, have)

    if "is_bounce" in exp:
        assert (parsed.bounce is not None) == exp["is_bounce"]
    if "bounce" in exp:
        bounce = parsed.bounce
        assert bounce is not None
        want = exp["bounce"]
        assert bounce.original_message_id == want["original_message_id"]
        for key in ("status", "action"):
            if key in want:
                assert getattr(bounce, key) == want[key], key
        if "failed_recipients" in want:
            assert list(bounce.failed_recipients) == want["failed_recipients"]
        if "diagnostic_contains" in want:
            assert want["diagnostic_contains"] in bounce.diagnostic

    for key, value in exp.get("headers", {}).items():
        assert parsed.headers.get(key) == value, key
    if "defects_nonempty" in exp:
        assert bool(parsed.defects) == exp["defects_nonempty"], parsed.defects
