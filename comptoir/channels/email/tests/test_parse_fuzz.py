"""parse_email never raises on bytes, and stays fast, whatever the bytes (cases 11 to 18)."""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comptoir.channels.email.parse import parse_email
from comptoir.channels.email.parsed import ParsedEmail

CORPUS = sorted((Path(__file__).resolve().parent / "corpus").glob("*.eml"))
SEEDS = [p.read_bytes() for p in CORPUS]
FRAGMENTS = [
    b"\r\n",
    b"\n\n",
    b"--",
    b"boundary=",
    b'Content-Type: multipart/mixed; boundary="b"\r\n',
    b"--b\r\n",
    b"--b--",
    b"=?utf-8?B?",
    b"=?",
    b"?=",
    b"charset=",
    b"begin 644 x\n",
    b"\xff",
    b"\x00",
    b"<script>",
    b"<blockquote type=cite>",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Disposition: attachment; filename*0*=utf-8''%E2%82",
    b"message/rfc822",
    b">",
]
FAST_ENOUGH = 2.0  # seconds per mail, generous for loaded CI machines


def _check(raw: bytes) -> None:
    start = time.perf_counter()
    parsed = parse_email(raw)
    assert isinstance(parsed, ParsedEmail)
    assert time.perf_counter() - start < FAST_ENOUGH
    assert "<script" not in parsed.body_html.lower()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_never_raise(raw):
    _check(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(SEEDS),
    cuts=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 64)), max_size=6),
    inserts=st.lists(
        st.tuples(st.integers(0, 10**6), st.sampled_from(FRAGMENTS) | st.binary(max_size=16)),
        max_size=6,
    ),
)
def test_mutated_corpus_mails_never_raise(seed, cuts, inserts):
    raw = bytearray(seed)
    for pos, length in cuts:
        pos %= max(len(raw), 1)
        del raw[pos : pos + length]
    for pos, fragment in inserts:
        pos %= max(len(raw), 1)
        raw[pos:pos] = fragment
    _check(bytes(raw))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=2000))
def test_arbitrary_text_headers_and_bodies_never_raise(text):
    _check(
        ("From: " + text[:200] + "\r\nSubject: " + text + "\r\n\r\n" + text).encode(
            "utf-8", "surrogatepass"
        )
    )
