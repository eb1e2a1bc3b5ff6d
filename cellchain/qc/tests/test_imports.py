"""QC results imported from instrument files: counters, ddPCR VCN, FCS CAR+; bad files refused with the reader's
reason and nothing half-recorded (Q-2.1, Q-2.2, Q-2.3-a, Q-2.4; REGULATORY items 11, 14)."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from cellchain.core.errors import ValidationFailed
from cellchain.domain.vcn import vcn_from_droplets
from cellchain.instruments.tests.fcs_writer import fcs_bytes
from cellchain.qc import services
from cellchain.qc.imports import result_import
from cellchain.qc.models import QcResult, RawDataFile

pytestmark = pytest.mark.django_db
DATA = Path(__file__).resolve().parents[2] / "instruments" / "tests" / "data"
CHANNELS = ["FSC-A", "FSC-H", "Viability", "CD3", "CAR"]


def flow_events(n: int, car_positive: int, seed: int, dim_max: float = 800) -> np.ndarray:
    """Singlets (FSC-A = FSC-H), viable, CD3+; the first `car_positive` events bright in CAR, the rest dim."""
    rng = np.random.default_rng(seed)
    events = np.empty((n, 5), dtype=np.float32)
    events[:, 0] = events[:, 1] = rng.uniform(40_000, 60_000, n)
    events[:, 2] = rng.uniform(0, 500, n)
    events[:, 3] = rng.uniform(2_000, 9_000, n)
    events[:, 4] = rng.uniform(0, dim_max, n)
    events[:car_positive, 4] = rng.uniform(5_000, 20_000, car_positive)
    return events


def test_viability_from_nucleoview_export_keeps_the_raw_file(mfg) -> None:
    batch = mfg.start(mfg.intake())
    content = (DATA / "nucleocounter_nc200.csv").read_bytes()
    row = result_import(
        actor=mfg.analyst,
        batch=batch,
        item_code="viability",
        content=content,
        name="nc200.csv",
    )
    assert row.value == Decimal("93.2") and "NC-200" in row.instrument
    assert row.raw_file.sha256 == hashlib.sha256(content).hexdigest()
    assert services.raw_file_content(row.raw_file) == content


def test_total_viable_cells_use_the_fill_volume(mfg) -> None:
    batch = mfg.manufactured()
    content = (DATA / "nucleocounter_nc200.csv").read_bytes()
    row = result_import(
        actor=mfg.analyst,
        batch=batch,
        item_code="viable_cells",
        content=content,
        name="nc200.csv",
    )
    assert row.value == Decimal("1.71E6") * 50 and row.details["formulation_volume_ml"] == 50.0


def test_vcn_from_ddpcr_droplets_per_diploid_and_per_transduced_cell(mfg) -> None:
    batch = mfg.start(mfg.intake())
    services.result_record(actor=mfg.analyst, batch=batch, item_code="car_positive", value=Decimal(40))
    row = result_import(
        actor=mfg.analyst,
        batch=batch,
        item_code="vcn",
        content=(DATA / "qx_manager.csv").read_bytes(),
        name="qx.csv",
        sample_name="A01",
    )
    expected = vcn_from_droplets("CAR", "RPP30", (7021, 9979), (4113, 12887), transduced_fraction=0.4)
    assert float(row.value) == pytest.approx(expected.copies_per_diploid_cell, abs=1e-6)
    assert row.details["copies_per_transduced_cell"] == pytest.approx(expected.copies_per_transduced_cell)
    assert row.details["droplet_volume_nl"] is not None and row.verdict == QcResult.Verdict.CONFORMS


def test_car_positive_rate_from_fcs_with_the_untransduced_control(mfg) -> None:
    batch = mfg.start(mfg.intake())
    sample = fcs_bytes(flow_events(4000, 1500, seed=1, dim_max=700), CHANNELS)  # dim events below the control
    control = fcs_bytes(flow_events(4000, 0, seed=2), CHANNELS)
    row = result_import(
        actor=mfg.analyst,
        batch=batch,
        item_code="car_positive",
        content=sample,
        name="tube1.fcs",
        control=control,
    )
    assert row.value == Decimal("37.5")
    assert row.details["template"] == "CAR19-GATE v2" and row.details["gates"][-1]["gate"] == "CAR+"


def qpcr_csv(unknown_cq: str, target: str = "VSVG") -> bytes:
    """The standards of a real run relabelled to `target`, plus one unknown well of sample PROD-1."""
    lines = (DATA / "qpcr_run.csv").read_text(encoding="utf-8-sig").splitlines()
    standards = [line.replace(",CAR,", f",{target},") for line in lines[1:] if "STANDARD" in line.upper()]
    return "\n".join([lines[0], *standards, f"C1,PROD-1,{target},UNKNOWN,,{unknown_cq}"]).encode()


@pytest.mark.parametrize(("cq", "outcome"), [("Undetermined", "negative"), ("30.2", "positive")])
def test_rcl_by_qpcr_is_detected_only_from_an_accepted_run(mfg, cq: str, outcome: str) -> None:
    batch = mfg.start(mfg.intake())
    row = result_import(
        actor=mfg.analyst,
        batch=batch,
        item_code="rcl",
        content=qpcr_csv(cq),
        name="rcl.csv",
        sample_name="PROD-1",
    )
    assert row.outcome == outcome and -3.6 <= row.details["slope"] <= -3.1


def test_qpcr_run_outside_the_product_limits_is_refused(mfg) -> None:
    batch = mfg.start(mfg.intake())
    rows = [line.split(",") for line in qpcr_csv("30.2").decode().splitlines()]
    for row in rows[1:-1]:  # stretch the standards' Cq: slope about -4.3, efficiency about 70 %
        row[5] = f"{18 + (float(row[5]) - 18) * 1.3:.3f}"
    steep = "\n".join(",".join(row) for row in rows).encode()
    with pytest.raises(ValidationFailed, match="standard curve is not accepted: slope"):
        result_import(
            actor=mfg.analyst,
            batch=batch,
            item_code="rcl",
            content=steep,
            name="steep.csv",
            sample_name="PROD-1",
        )
    assert not QcResult.objects.exists()


@pytest.mark.parametrize(
    ("item", "content", "name", "match"),
    [
        ("car_positive", b"FCS3.1    truncated", "tube.fcs", "tube.fcs"),
        ("viability", b"Viability (%);ERROR;\n", "nc.csv", "nc.csv"),
        ("vcn", b"Well,Sample\n", "qx.csv", "qx.csv"),
        ("ph", b"7.1", "ph.txt", "enter it by hand"),
    ],
)
def test_bad_file_is_refused_with_the_readers_reason_and_nothing_recorded(
    mfg, item, content, name, match
) -> None:
    batch = mfg.start(mfg.intake())
    with pytest.raises(ValidationFailed, match=match):
        result_import(
            actor=mfg.analyst, batch=batch, item_code=item, content=content, name=name, sample_name="A01"
        )
    assert not QcResult.objects.exists() and not RawDataFile.objects.exists()


def test_a_vicell_sample_the_instrument_flagged_is_refused_and_the_others_import(mfg, monkeypatch) -> None:
    """Issue 16: the flagged sample is never a number; the other samples of the same file import."""
    from cellchain.manufacturing import master

    monkeypatch.setattr(master, "import_settings", lambda spec: {"viability": {"reader": "vicell"}})
    batch = mfg.start(mfg.intake())
    content = (DATA / "vicell_blu_error_cell.csv").read_bytes()

    def viability(sample: str) -> QcResult:
        return result_import(actor=mfg.analyst, batch=batch, item_code="viability", content=content,
                             name="blu.csv", sample_name=sample)  # fmt: skip

    with pytest.raises(ValidationFailed, match=r"'CT-0001-FINAL' \(line 3\) has no result.*'ERROR'"):
        viability("CT-0001-FINAL")
    assert not QcResult.objects.exists()
    row = viability("CT-0002-HARVEST")
    assert abs(float(row.value) - 100 * 1577 / 2188) < 0.01 and row.details["sample"] == "CT-0002-HARVEST"


@pytest.mark.parametrize(
    ("file", "sample", "viability"),
    [
        ("vicell_xr_example07.txt", "CLB001", 100 * 4133 / 4263),
        ("vicell_xr_workbook.xlsx", "CLB003", 100 * 254 / 636),
        ("vicell_blu_utf8.csv", "CT-0002-HARVEST", 100 * 1577 / 2188),
    ],
)
def test_viability_from_every_vicell_format_through_the_qc_import(
    mfg, monkeypatch, file: str, sample: str, viability: float
) -> None:
    """Issue 16: Vi-CELL XR TXT and XLSX exports import like the BLU CSV, from raw counts."""
    from cellchain.manufacturing import master

    monkeypatch.setattr(master, "import_settings", lambda spec: {"viability": {"reader": "vicell"}})
    batch = mfg.start(mfg.intake())
    content = (DATA / file).read_bytes()
    row = result_import(actor=mfg.analyst, batch=batch, item_code="viability", content=content, name=file,
                        sample_name=sample)  # fmt: skip
    assert abs(float(row.value) - viability) < 1e-5 and row.details["sample"] == sample
    assert row.raw_file.sha256 == hashlib.sha256(content).hexdigest()
    if "vicell_xr" in file:
        assert "Vi-CELL XR" in row.instrument and row.details["instrument_serial"] == "AW123456789"


def test_nc_view_table_export_imports_one_sample_and_refuses_a_flagged_one(mfg) -> None:
    """Issue 16: the NC-View table export holds many samples; the one NucleoView marked is never a number."""
    batch = mfg.start(mfg.intake())
    content = (DATA / "nc_view_table.csv").read_bytes()

    def viability(sample: str) -> QcResult:
        return result_import(actor=mfg.analyst, batch=batch, item_code="viability", content=content,
                             name="ncview.csv", sample_name=sample)  # fmt: skip

    with pytest.raises(ValidationFailed, match=r"'8' \(line 9\) has no result.*Foreign object"):
        viability("8")
    assert not QcResult.objects.exists()
    row = viability("12")
    assert row.value == Decimal("96.2") and "NC-202" in row.instrument
    assert row.details["instrument_serial"] == "9002020102201902"


@pytest.mark.parametrize(("cq", "outcome"), [("Undetermined", "negative"), ("30.2", "positive")])
def test_rcl_by_qpcr_from_an_rdml_file(mfg, cq: str, outcome: str) -> None:
    """Issue 16: an RDML run feeds the same standard-curve gate as the CSV."""
    from cellchain.instruments.tests.rdml_writer import rdml_from_csv

    batch = mfg.start(mfg.intake())
    content = rdml_from_csv(qpcr_csv(cq).decode()).encode()
    row = result_import(actor=mfg.analyst, batch=batch, item_code="rcl", content=content, name="rcl.rdml",
                        sample_name="PROD-1")  # fmt: skip
    assert row.outcome == outcome and -3.6 <= row.details["slope"] <= -3.1
    assert row.raw_file.sha256 == hashlib.sha256(content).hexdigest()


def test_schema_invalid_rdml_is_refused_through_the_qc_import_and_nothing_recorded(mfg) -> None:
    from cellchain.instruments.tests.rdml_writer import rdml_from_csv

    batch = mfg.start(mfg.intake())
    content = rdml_from_csv(qpcr_csv("30.2").decode()).replace("<cq>30.2</cq>", "<cq>late</cq>").encode()
    with pytest.raises(ValidationFailed, match=r"rcl\.rdml \(line \d+\): not valid RDML 1\.3"):
        result_import(actor=mfg.analyst, batch=batch, item_code="rcl", content=content, name="rcl.rdml",
                      sample_name="PROD-1")  # fmt: skip
    assert not QcResult.objects.exists() and not RawDataFile.objects.exists()
