"""Label reconciliation: balanced iff every printed label has one fate (CM7.2.2.1)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cellchain.domain.label_reconciliation import LabelFate, reconcile

label_ids = st.lists(st.text(alphabet="ABC0123456789", min_size=1, max_size=6), unique=True, max_size=12)
maybe_fate = st.none() | st.sampled_from(list(LabelFate))


@st.composite
def labels_and_fates(draw: st.DrawFn) -> tuple[list[str], dict[str, LabelFate]]:
    """Printed label ids and, for each, its fate or none (a label without a fate is outstanding)."""
    printed = draw(label_ids)
    chosen = draw(st.lists(maybe_fate, min_size=len(printed), max_size=len(printed)))
    return printed, {label: fate for label, fate in zip(printed, chosen, strict=True) if fate is not None}


@given(labels_and_fates())
def test_balanced_iff_every_label_has_a_fate(case: tuple[list[str], dict[str, LabelFate]]) -> None:
    printed, fates = case
    result = reconcile(printed, fates)
    assert result.balanced == (set(fates) == set(printed))
    assert result.printed == len(printed)
    assert result.used + result.voided + result.destroyed + len(result.outstanding) == result.printed
    assert set(result.outstanding) == set(printed) - set(fates)
    assert result.voided == sum(f is LabelFate.VOIDED for f in fates.values())


def test_counts_each_fate_and_lists_outstanding_in_print_order() -> None:
    fates = {"L1": LabelFate.USED, "L2": LabelFate.VOIDED, "L4": LabelFate.DESTROYED}
    result = reconcile(["L1", "L2", "L3", "L4", "L5"], fates)
    assert (result.printed, result.used, result.voided, result.destroyed) == (5, 1, 1, 1)
    assert result.outstanding == ("L3", "L5")
    assert not result.balanced
    message = result.message("Batch B1")
    assert "CM7.2.2.1" in message and "L3, L5" in message


def test_a_fate_of_a_label_printed_elsewhere_does_not_balance() -> None:
    result = reconcile(["L1"], {"L9": LabelFate.USED})
    assert not result.balanced
    assert result.used == 0 and result.outstanding == ("L1",)


def test_nothing_printed_balances() -> None:
    assert reconcile([], {}).balanced
