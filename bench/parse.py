"""Email parser benchmark: N realistic mails (~1.5 KB) through `parse_email`, one process.

    .venv/bin/python bench/parse.py --n 2000

Prints one JSON line: {"n", "avg_bytes", "parse_per_s", "stdlib_compat32_per_s",
"stdlib_default_per_s", and the same per CPU second} — the stdlib figures are the bare parse
(no decoding, no sanitizing; `policy.default` with the usual headers read) for comparison
with the issue's figures. Per-CPU-second rates are steadier on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from email.parser import BytesParser
from email.policy import compat32, default
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.mailgen import NAMES, body_parts, encoded, para, sentence  # noqa: E402


def make_mail(i: int, rng: random.Random) -> bytes:
    """One mail: new conversation or reply, text or text+HTML, sometimes an attachment."""
    name = rng.choice(NAMES)
    addr = f"client{i % 300}@example.{rng.choice(['com', 'fr', 'org'])}"
    kind = rng.random()
    reply = kind < 0.5
    subject = ("Re: " if reply else "") + f"Commande n°{1000 + i % 700} — {sentence(rng, 4)}"
    enc_name = encoded(name)
    enc_subject = encoded(subject)
    headers = [
        f"From: {enc_name} <{addr}>",
        "To: support@desk.example",
        f"Subject: {enc_subject}",
        f"Date: Mon, 3 Mar 2025 10:{i % 60:02d}:00 +0100",
        f"Message-ID: <msg{i}.{rng.randrange(10**9)}@mail.example.com>",
        "MIME-Version: 1.0",
    ]
    if reply:
        headers.append(f"In-Reply-To: <msg{i - 1}@desk.example>")
        headers.append(f"References: <root{i}@desk.example> <msg{i - 1}@desk.example>")
    body = para(rng, rng.randint(3, 6))
    parts = body_parts(
        rng,
        name=name,
        body=body,
        reply=reply,
        support="support@desk.example",
        with_html=kind < 0.35 or kind > 0.8,
        with_attachment=rng.random() < 0.1,
    )
    return "\r\n".join(headers + parts).encode("utf-8")


def _rate(n: int, fn, mails: list[bytes]) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(per wall-clock second, per CPU second): the second is steadier on a busy machine."""
    start, cpu = time.perf_counter(), time.process_time()
    for raw in mails:
        fn(raw)
    return n / (time.perf_counter() - start), n / max(time.process_time() - cpu, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    mails = [make_mail(i, rng) for i in range(args.n)]

    from comptoir.channels.email.parse import parse_email

    for raw in mails[:50]:
        parse_email(raw)  # warm-up: imports, regex compilation
    parse_per_s, parse_per_cpu_s = _rate(args.n, parse_email, mails)
    compat = BytesParser(policy=compat32)
    modern = BytesParser(policy=default)
    compat_per_s, compat_per_cpu_s = _rate(args.n, compat.parsebytes, mails)

    def parse_default(raw: bytes) -> None:
        msg = modern.parsebytes(raw)
        for name in ("subject", "from", "to", "message-id", "in-reply-to", "references", "date"):
            msg.get(name)  # the header registry does its work on access

    default_per_s, default_per_cpu_s = _rate(args.n, parse_default, mails)
    print(
        json.dumps(
            {
                "n": args.n,
                "avg_bytes": round(sum(map(len, mails)) / len(mails)),
                "parse_per_s": round(parse_per_s),
                "parse_per_cpu_s": round(parse_per_cpu_s),
                "stdlib_compat32_per_s": round(compat_per_s),
                "stdlib_compat32_per_cpu_s": round(compat_per_cpu_s),
                "stdlib_default_per_s": round(default_per_s),
                "stdlib_default_per_cpu_s": round(default_per_cpu_s),
            }
        )
    )


if __name__ == "__main__":
    main()
