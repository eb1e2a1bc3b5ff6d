"""VCN by Poisson-corrected ddPCR droplets and the VCN release limit (Q-2.3-a, Q-2.3-b)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cellchain.domain.vcn import (
    DEFAULT_DROPLET_VOLUME_NL,
    VcnBasis,
    VcnError,
    VcnLimit,
    poisson_concentration,
    vcn_from_concentrations,
    vcn_from_droplets,
    vcn_release_check,
)


def test_poisson_concentration_of_half_negative_droplets_is_ln2_per_droplet() -> None:
    result = poisson_concentration(10_000, 10_000)
    assert result.copies_per_droplet == pytest.approx(math.log(2))
    assert result.copies_per_ul == pytest.approx(math.log(2) / 0.00085)
    assert result.droplet_volume_nl == DEFAULT_DROPLET_VOLUME_NL
    assert result.accepted == 20_000


def test_poisson_concentration_stores_the_droplet_volume_used() -> None:
    result = poisson_concentration(5000, 10_000, droplet_volume_nl=0.795)
    assert result.droplet_volume_nl == 0.795
    assert result.copies_per_ul == pytest.approx(-math.log(10_000 / 15_000) / 0.000795)


def test_no_positive_droplets_is_zero_copies() -> None:
    assert poisson_concentration(0, 15_000).copies_per_ul == 0.0


@pytest.mark.parametrize(
    ("positives", "negatives", "volume", "message"),
    [(15_000, 0, 0.85, "saturated"), (0, 0, 0.85, "no accepted droplets"), (-1, 5, 0.85, ">= 0"),
     (1, 5, 0.0, "droplet volume"), (1, 5, float("nan"), "droplet volume")],
)  # fmt: skip
def test_impossible_droplet_counts_are_refused(
    positives: int, negatives: int, volume: float, message: str
) -> None:
    with pytest.raises(VcnError, match=message):
        poisson_concentration(positives, negatives, volume)


def test_vcn_per_diploid_cell_is_twice_target_over_reference() -> None:
    result = vcn_from_concentrations("ddPCR", "CAR", "RPP30", 600.0, 300.0)
    assert result.copies_per_diploid_cell == 4.0
    assert result.copies_per_transduced_cell is None


def test_vcn_per_transduced_cell_divides_by_the_transduced_fraction() -> None:
    result = vcn_from_concentrations("qPCR", "CAR", "ALB", 300.0, 300.0, transduced_fraction=0.4)
    assert result.copies_per_diploid_cell == 2.0
    assert result.copies_per_transduced_cell == pytest.approx(5.0)
    assert result.method == "qPCR"


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5, float("nan")])
def test_transduced_fraction_outside_zero_one_is_refused(fraction: float) -> None:
    with pytest.raises(VcnError, match="transduced fraction"):
        vcn_from_concentrations("ddPCR", "CAR", "RPP30", 1.0, 1.0, transduced_fraction=fraction)


def test_zero_reference_concentration_is_refused() -> None:
    with pytest.raises(VcnError, match="no cellular DNA"):
        vcn_from_concentrations("ddPCR", "CAR", "RPP30", 10.0, 0.0)


def test_vcn_from_droplets_keeps_counts_and_volume() -> None:
    result = vcn_from_droplets("CAR", "RPP30", (7021, 9979), (4113, 12887), droplet_volume_nl=0.85)
    assert result.droplet_volume_nl == 0.85
    assert result.target_droplets is not None and result.target_droplets.positives == 7021
    assert result.reference_droplets is not None and result.reference_droplets.negatives == 12887
    expected = 2 * math.log(17000 / 9979) / math.log(17000 / 12887)
    assert result.copies_per_diploid_cell == pytest.approx(expected)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(0, 19_000), st.integers(1, 19_000), st.integers(1, 19_000), st.integers(1, 19_000),
    st.floats(0.5, 1.2),
)  # fmt: skip
def test_vcn_from_one_well_does_not_depend_on_droplet_volume(
    tp: int, tn: int, rp: int, rn: int, volume: float
) -> None:
    """Target and reference share the droplets of one well, so the volume cancels out."""
    default = vcn_from_droplets("CAR", "RPP30", (tp, tn), (rp, rn))
    other = vcn_from_droplets("CAR", "RPP30", (tp, tn), (rp, rn), droplet_volume_nl=volume)
    assert other.copies_per_diploid_cell == pytest.approx(default.copies_per_diploid_cell, rel=1e-9)


def test_release_passes_at_exactly_five_copies_per_cell() -> None:
    """Q-2.3-b: VCN not above 5 copies/cell."""
    verdict = vcn_release_check(vcn_from_concentrations("ddPCR", "CAR", "RPP30", 500.0, 200.0))
    assert verdict.passed
    assert verdict.value == 5.0
    assert "<= limit 5" in verdict.reasons[0]


def test_release_blocked_when_vcn_above_limit() -> None:
    """Q-2.3-b: a result above 5 copies/cell fails release."""
    verdict = vcn_release_check(vcn_from_concentrations("ddPCR", "CAR", "RPP30", 501.0, 200.0))
    assert not verdict.passed
    assert "5.01 copies per diploid cell" in verdict.reasons[0]
    assert "> limit 5 (Q-2.3-b default release limit)" in verdict.reasons[0]


def test_product_specification_may_set_another_limit_and_basis() -> None:
    result = vcn_from_concentrations("ddPCR", "CAR", "RPP30", 300.0, 300.0, transduced_fraction=0.5)
    spec = VcnLimit(3.0, VcnBasis.PER_TRANSDUCED_CELL, "CAR19 spec v4")
    verdict = vcn_release_check(result, spec)
    assert not verdict.passed and verdict.value == 4.0
    assert "CAR19 spec v4" in verdict.reasons[0]


def test_per_transduced_limit_without_fraction_cannot_pass() -> None:
    result = vcn_from_concentrations("ddPCR", "CAR", "RPP30", 1.0, 300.0)
    verdict = vcn_release_check(result, VcnLimit(basis=VcnBasis.PER_TRANSDUCED_CELL))
    assert not verdict.passed
    assert "transduced fraction" in verdict.reasons[0]
