"""Ambiguous English words are translated with a context that says which meaning (the translator's note:
"unit" = bag/vial, unit of measurement or production area; "Rejected" = release or receipt rejection; "action"
= ledger operation or corrective action; "signed" = a step that needs a signature). A bare msgid would merge
the meanings into one catalogue entry, so one Chinese word would stand for all of them."""

from __future__ import annotations

import re
from pathlib import Path

AMBIGUOUS = ("unit", "action", "signed", "Rejected")
ROOT = Path(__file__).resolve().parents[2]
_WORDS = "|".join(AMBIGUOUS)
_BARE_PY = re.compile(rf"""\b(?:_|gettext|gettext_lazy|gettext_noop)\(\s*["']({_WORDS})["']\s*\)""")
_BARE_TEMPLATE = re.compile(rf"""\{{%\s*(?:translate|trans)\s+["']({_WORDS})["']\s*(?:as\s+\w+\s*)?%\}}""")


def _sources() -> list[Path]:
    files = [*ROOT.rglob("*.py"), *ROOT.rglob("*.html"), *ROOT.rglob("*.txt")]
    return [p for p in files if "migrations" not in p.parts and "tests" not in p.parts]


def test_ambiguous_words_are_translated_with_a_context() -> None:
    bare = [
        f"{path.relative_to(ROOT.parent)}:{number}: {match.group(0)}"
        for path in _sources()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for match in (*_BARE_PY.finditer(line), *_BARE_TEMPLATE.finditer(line))
    ]
    assert bare == [], "use pgettext / {% translate ... context ... %}:\n" + "\n".join(bare)


def test_the_guard_recognises_bare_and_contexted_uses() -> None:
    assert _BARE_PY.search('verbose_name=_("unit")')
    assert _BARE_TEMPLATE.search('{% translate "signed" %}')
    assert not _BARE_PY.search('pgettext_lazy("unit of measurement", "unit")')
    assert not _BARE_TEMPLATE.search('{% translate "unit" context "production area" %}')
    assert not _BARE_PY.search('_("apheresis unit")')
