"""Reading what the agent typed, and marking matches safely (no database)."""

from __future__ import annotations

from comptoir.search.backends import fts_expression
from comptoir.search.highlight import Matcher, mark_all, snippet
from comptoir.search.marks import marked
from comptoir.search.query import MAX_TERMS, parse_query


def _show(text: str) -> str:
    return text.replace("\x02", "[").replace("\x03", "]")


def test_words_phrases_or_exclusion_and_prefix():
    q = parse_query('colis "arrivé abîmé" OR retard -facture rembours* NOT devis')
    assert [[t.text for t in g] for g in q.groups] == [
        ["colis"],
        ["arrivé abîmé", "retard"],
        ["rembours"],
    ]
    assert [t.text for t in q.excluded] == ["facture", "devis"]
    assert q.groups[2][0].prefix and not q.problem


def test_fts_expression_quotes_only_letters_and_digits():
    q = parse_query('x"); DROP TABLE t; -- "a*b" {head}:c NEAR(d) CMD-123*')
    expression = fts_expression(q)
    inner = expression.removeprefix("{head body} : (").removesuffix(")")
    assert ";" not in inner and "{" not in inner and "NEAR(" not in inner
    assert '("CMD 123" *)' in expression


def test_operators_in_lower_case_are_words():
    q = parse_query("or et ou and")
    assert [t.text for g in q.groups for t in g] == ["or", "et", "ou", "and"]


def test_limits_and_problems():
    assert parse_query("").problem and parse_query("  \x00 ").problem
    assert "seulement exclus" in parse_query("-colis").problem
    assert parse_query("*** ((( ))) :::").problem
    long = parse_query(" ".join(f"mot{i}" for i in range(MAX_TERMS + 5)))
    assert len(long.terms) == MAX_TERMS and long.notices
    assert parse_query("x" * 1000).notices
    short = parse_query("ab*")
    assert not short.groups[0][0].prefix and short.notices


def test_matcher_ignores_accents_and_case_and_keeps_word_bounds():
    m = Matcher(parse_query('resilie CMD-12345 rembours* "colis abîmé"'))
    text = "RÉSILIÉ, CMD-12345; remboursement, colis — abîmé; résiliées; xcolis abîmé"
    assert _show(mark_all(text, m)) == (
        "[RÉSILIÉ], [CMD-12345]; [remboursement], [colis — abîmé]; résiliées; xcolis abîmé"
    )


def test_snippet_goes_where_the_words_are():
    m = Matcher(parse_query("parapluie"))
    text = "début " * 200 + "mon parapluie est cassé " + "fin " * 200
    cut = _show(snippet(text, m))
    assert cut.startswith("… ") and cut.endswith(" …") and "[parapluie]" in cut
    assert len(cut) < 300


def test_marked_escapes_then_marks():
    html = marked('<script>x</script> \x02<b>\x03 "a" & \x02 lone')
    assert html == "&lt;script&gt;x&lt;/script&gt; <mark>&lt;b&gt;</mark> &quot;a&quot; &amp;  lone"
