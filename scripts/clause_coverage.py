"""How many catalogue lines a test cites, by group and by tag (issue 13 "Done means": coverage before and after).

A line counts as covered when its ID appears in a test file (`cellchain/**/tests/**.py`, `tests/**.py`) as a
whole ID: `T-5.1.4` is not cited by a mention of `T-5.1.4-c`. The figure says a test names the clause, not that
the clause is fully met; read the test for that.

    .venv/bin/python scripts/clause_coverage.py            # table by group (T-5, T-6, ...) and by tag
    .venv/bin/python scripts/clause_coverage.py --missing  # also list the IDs no test cites
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cellchain.domain.clause_catalogue import CLAUSES  # noqa: E402 - after the path is set


def _test_text() -> str:
    files = [*ROOT.glob("cellchain/**/tests/**/*.py"), *ROOT.glob("tests/**/*.py")]
    return "\n".join(path.read_text(encoding="utf-8") for path in files)


def _cited(clause_id: str, text: str) -> bool:
    return re.search(rf"(?<![\w.\-]){re.escape(clause_id)}(?![\w\-]|\.\d)", text) is not None


def _group(clause_id: str) -> str:
    head = clause_id.split("-", 1)
    return f"{head[0]}-{head[1].split('.', 1)[0]}" if clause_id.startswith("T-") else head[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--missing", action="store_true", help="list the IDs no test cites")
    args = parser.parse_args()
    text = _test_text()
    by_group: Counter[str] = Counter()
    by_group_cited: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    by_type_cited: Counter[str] = Counter()
    missing: list[str] = []
    for clause in CLAUSES:
        cited = _cited(clause.id, text)
        for counter, counter_cited, key in (
            (by_group, by_group_cited, _group(clause.id)),
            (by_type, by_type_cited, str(clause.type)),
        ):
            counter[key] += 1
            counter_cited[key] += cited
        if not cited:
            missing.append(clause.id)
    for title, total, cited_counts in (("group", by_group, by_group_cited), ("tag", by_type, by_type_cited)):
        print(f"{title:<10} cited / lines")
        for key in sorted(total):
            print(f"{key:<10} {cited_counts[key]:>5} / {total[key]}")
        print()
    print(f"all        {len(CLAUSES) - len(missing):>5} / {len(CLAUSES)}")
    if args.missing:
        print("\nnot cited by any test:", " ".join(missing))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
