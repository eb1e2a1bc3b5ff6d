"""Vector copy number (VCN) from digital PCR droplets or copy concentrations, and its release limit.

Q-2.3-a: VCN is measured by qPCR (standard curve) or digital PCR/ddPCR (absolute, Poisson); the result
records the method, the standard and the instrument file. Q-2.3-b: VCN not above 5 copies/cell is the
default release limit; a higher result fails release (the product's specification may set another).

Definitions used here:

* **Poisson concentration** (ddPCR): ``λ = -ln(negatives / accepted)`` copies per droplet,
  ``copies/µL = λ / V`` with ``V`` the droplet volume in µL (default 0.85 nL, Bio-Rad QX200; the value
  used is stored with every result). All droplets positive (``negatives == 0``) is saturation: refused.
* **VCN per diploid cell** = ``2 x target / reference`` where the reference is a two-copy housekeeping gene
  (e.g. RPP30, ALB); ``reference_copies_per_cell`` may be set for another reference. When target and
  reference come from the same well the droplet volume cancels out.
* **VCN per transduced cell** = VCN per diploid cell / transduced fraction of the cells the DNA came from
  (e.g. the CAR+ fraction by flow, Q-2.2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_DROPLET_VOLUME_NL = 0.85
"""Bio-Rad QX200 droplet volume in nL used when the export gives none (stored with each result)."""

DEFAULT_VCN_LIMIT = 5.0
"""Q-2.3-b: VCN not above 5 copies/cell is the default release limit."""


class VcnError(ValueError):
    """The inputs cannot give a VCN (no droplets, saturation, zero reference, bad fraction)."""


class VcnBasis(StrEnum):
    """Which VCN a release limit applies to."""

    PER_DIPLOID_CELL = "per diploid cell"
    PER_TRANSDUCED_CELL = "per transduced cell"


@dataclass(frozen=True)
class PoissonConcentration:
    """Copies/µL of one target from its droplet counts, with the droplet volume used (Q-2.3-a)."""

    positives: int
    negatives: int
    droplet_volume_nl: float
    copies_per_droplet: float
    copies_per_ul: float

    @property
    def accepted(self) -> int:
        return self.positives + self.negatives


def poisson_concentration(
    positives: int, negatives: int, droplet_volume_nl: float = DEFAULT_DROPLET_VOLUME_NL
) -> PoissonConcentration:
    """λ = -ln(negatives/accepted); copies/µL = λ / droplet volume in µL (Q-2.3-a)."""
    if positives < 0 or negatives < 0:
        raise VcnError(f"droplet counts must be >= 0 (positives {positives}, negatives {negatives})")
    if not (math.isfinite(droplet_volume_nl) and droplet_volume_nl > 0):
        raise VcnError(f"droplet volume must be a positive number of nL, got {droplet_volume_nl}")
    accepted = positives + negatives
    if accepted == 0:
        raise VcnError("no accepted droplets")
    if negatives == 0:
        raise VcnError(f"all {accepted} droplets positive: saturated, dilute the DNA and repeat")
    copies_per_droplet = -math.log(negatives / accepted)
    copies_per_ul = copies_per_droplet / (droplet_volume_nl * 1e-3)
    return PoissonConcentration(positives, negatives, droplet_volume_nl, copies_per_droplet, copies_per_ul)


@dataclass(frozen=True)
class VcnResult:
    """VCN with every input: method, targets, concentrations, droplets and volume when ddPCR (Q-2.3-a)."""

    method: str
    target: str
    reference: str
    target_copies_per_ul: float
    reference_copies_per_ul: float
    reference_copies_per_cell: int
    copies_per_diploid_cell: float
    transduced_fraction: float | None
    copies_per_transduced_cell: float | None
    droplet_volume_nl: float | None = None
    target_droplets: PoissonConcentration | None = None
    reference_droplets: PoissonConcentration | None = None

    def value(self, basis: VcnBasis) -> float | None:
        if basis is VcnBasis.PER_DIPLOID_CELL:
            return self.copies_per_diploid_cell
        return self.copies_per_transduced_cell


def vcn_from_concentrations(
    method: str,
    target: str,
    reference: str,
    target_copies_per_ul: float,
    reference_copies_per_ul: float,
    *,
    transduced_fraction: float | None = None,
    reference_copies_per_cell: int = 2,
) -> VcnResult:
    """VCN from target and reference copy concentrations (ddPCR or qPCR standard curve)."""
    _check_concentrations(target_copies_per_ul, reference_copies_per_ul)
    per_cell = reference_copies_per_cell * target_copies_per_ul / reference_copies_per_ul
    per_transduced = _per_transduced(per_cell, transduced_fraction)
    return VcnResult(
        method, target, reference, target_copies_per_ul, reference_copies_per_ul,
        reference_copies_per_cell, per_cell, transduced_fraction, per_transduced,
    )  # fmt: skip


def vcn_from_droplets(
    target: str,
    reference: str,
    target_droplets: tuple[int, int],
    reference_droplets: tuple[int, int],
    *,
    droplet_volume_nl: float = DEFAULT_DROPLET_VOLUME_NL,
    transduced_fraction: float | None = None,
    reference_copies_per_cell: int = 2,
) -> VcnResult:
    """VCN from (positives, negatives) of target and reference by Poisson (ddPCR, Q-2.3-a)."""
    target_conc = poisson_concentration(*target_droplets, droplet_volume_nl)
    reference_conc = poisson_concentration(*reference_droplets, droplet_volume_nl)
    base = vcn_from_concentrations(
        "ddPCR", target, reference, target_conc.copies_per_ul, reference_conc.copies_per_ul,
        transduced_fraction=transduced_fraction, reference_copies_per_cell=reference_copies_per_cell,
    )  # fmt: skip
    return VcnResult(
        base.method, base.target, base.reference, base.target_copies_per_ul, base.reference_copies_per_ul,
        base.reference_copies_per_cell, base.copies_per_diploid_cell, base.transduced_fraction,
        base.copies_per_transduced_cell, droplet_volume_nl, target_conc, reference_conc,
    )  # fmt: skip


def _check_concentrations(target: float, reference: float) -> None:
    if not (math.isfinite(target) and target >= 0):
        raise VcnError(f"target concentration must be a finite number >= 0, got {target}")
    if not (math.isfinite(reference) and reference > 0):
        raise VcnError(f"reference gene concentration must be > 0, got {reference}: no cellular DNA measured")


def _per_transduced(per_cell: float, fraction: float | None) -> float | None:
    if fraction is None:
        return None
    if not (math.isfinite(fraction) and 0.0 < fraction <= 1.0):
        raise VcnError(f"transduced fraction must lie in (0, 1], got {fraction}")
    return per_cell / fraction


@dataclass(frozen=True)
class VcnLimit:
    """Release limit on VCN: maximum copies per cell and the basis (Q-2.3-b default: 5 per diploid cell)."""

    max_copies_per_cell: float = DEFAULT_VCN_LIMIT
    basis: VcnBasis = VcnBasis.PER_DIPLOID_CELL
    source: str = "Q-2.3-b default release limit"


@dataclass(frozen=True)
class VcnVerdict:
    """Pass/fail of a VCN against its limit, with the value, limit, basis and reasons."""

    passed: bool
    value: float | None
    limit: VcnLimit
    reasons: tuple[str, ...]


def vcn_release_check(result: VcnResult, limit: VcnLimit | None = None) -> VcnVerdict:
    """VCN above the limit fails release (Q-2.3-b); a missing per-transduced value cannot pass."""
    limit = limit or VcnLimit()
    value = result.value(limit.basis)
    if value is None:
        reason = f"VCN {limit.basis.value} needs the transduced fraction, which was not given"
        return VcnVerdict(False, None, limit, (reason,))
    passed = value <= limit.max_copies_per_cell
    relation = "<=" if passed else ">"
    reason = (
        f"VCN {value:.2f} copies {limit.basis.value} ({result.method}, {result.target}/{result.reference}) "
        f"{relation} limit {limit.max_copies_per_cell:g} ({limit.source})"
    )
    return VcnVerdict(passed, value, limit, (reason,))
