"""Label reconciliation: every printed label has one fate (FACT-JACIE 8th ed. CM7.2.2.1; issue 13 item 8)."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

CLAUSE = "FACT-JACIE CM7.2.2.1"


class LabelFate(enum.StrEnum):
    """What became of a printed label."""

    USED = "used"
    VOIDED = "voided"
    DESTROYED = "destroyed"


@dataclass(frozen=True)
class Reconciliation:
    """Printed against used + voided + destroyed; the labels without a fate, by id."""

    printed: int
    used: int
    voided: int
    destroyed: int
    outstanding: tuple[str, ...]

    @property
    def balanced(self) -> bool:
        return not self.outstanding and self.printed == self.used + self.voided + self.destroyed

    def message(self, scope: str) -> str:
        """Why ``scope`` does not balance, naming the clause and the outstanding labels."""
        return (
            f"{scope}: label reconciliation does not balance ({CLAUSE}): printed {self.printed}, "
            f"used {self.used}, voided {self.voided}, destroyed {self.destroyed}; "
            f"labels without a recorded fate: {', '.join(self.outstanding)}."
        )


def reconcile(printed: Iterable[str], fates: Mapping[str, LabelFate]) -> Reconciliation:
    """Reconcile the printed labels (ids) with their recorded fates (CM7.2.2.1).

    A fate of a label that was not printed in this scope does not count: it cannot balance another label.
    """
    ids = list(dict.fromkeys(printed))
    counts = dict.fromkeys(LabelFate, 0)
    for label in ids:
        fate = fates.get(label)
        if fate is not None:
            counts[fate] += 1
    return Reconciliation(
        printed=len(ids),
        used=counts[LabelFate.USED],
        voided=counts[LabelFate.VOIDED],
        destroyed=counts[LabelFate.DESTROYED],
        outstanding=tuple(label for label in ids if label not in fates),
    )
