"""Certificate of analysis, label and product information package (T-7.2-T-7.15, X-7, REGULATORY 6)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cellchain.domain.certificate import (
    LABEL_REQUIRED_FIELDS,
    build_certificate,
    build_information_package,
    build_label,
    certificate_issue_check,
    key_process_warnings,
    label_missing_fields,
    label_print_check,
    missing_fields,
    package_issue_check,
    stage_report_missing_sections,
)
from cellchain.domain.product_information import (
    Bilingual,
    DonorSummary,
    DonorType,
    IdentifyingDonorData,
    ProductState,
    ReleaseDecision,
    ScreeningSummary,
    Signature,
    donor_summary_from_fields,
)
from cellchain.domain.specification import (
    AuditTrailReview,
    QcResult,
    ReleaseOutcome,
    ResultStatus,
    RetainedSample,
    evaluate_release,
)
from cellchain.domain.tests.manufacturing_examples import BATCH, DONOR, INFO, SPEC, passing_results, result

RELEASED_AT = datetime(2026, 3, 21, 2, 30, tzinfo=UTC)
QA = Signature("released", "Li Na (QA)", RELEASED_AT)
REVIEW = Signature("reviewed", "Chen Wei (QC)", RELEASED_AT - timedelta(hours=2))


def evaluation_with(**changes: QcResult):  # type: ignore[no-untyped-def]
    results = passing_results() | changes
    return evaluate_release(
        SPEC,
        results.values(),
        audit_review=AuditTrailReview("qa_li", RELEASED_AT),
        retained_sample=RetainedSample("RS-1", "LN2-03/A3"),
        bead_activator_used=True,
    )


def certificate(release: ReleaseDecision | None = None, **changes: QcResult):  # type: ignore[no-untyped-def]
    evaluation = evaluation_with(**changes)
    decision = release if release is not None else ReleaseDecision(evaluation.outcome, QA)
    return build_certificate(SPEC, evaluation, INFO, BATCH, signatures=(REVIEW, QA), release=decision)


def package(**kw: object):  # type: ignore[no-untyped-def]
    cert = kw.pop("certificate", None) or certificate()
    info = kw.pop("info", INFO)
    batch = kw.pop("batch", BATCH)
    donor = kw.pop("donor", DONOR)
    return build_information_package(info, batch, donor, cert, version="1")  # type: ignore[arg-type]


def test_label_before_release_has_no_release_date_and_cannot_print() -> None:
    label = build_label(INFO, BATCH, release=None)
    assert label.released_at is None
    assert [(f.clause, f.subject) for f in label_print_check(label).findings] == [
        ("T-7.5-b", "label.released_at")
    ]


def test_label_after_release_prints_with_expiry_from_shelf_life() -> None:
    label = build_label(INFO, BATCH, ReleaseDecision(ReleaseOutcome.RELEASABLE, QA))
    assert label_print_check(label).allowed
    assert label.released_at == RELEASED_AT
    assert label.expires_at == BATCH.manufactured_at + timedelta(days=365)
    assert (label.storage_temperature, label.donor_type) == ("≤ -150 °C", DonorType.AUTOLOGOUS)


@pytest.mark.parametrize(("clause", "path"), LABEL_REQUIRED_FIELDS)
def test_label_printing_blocked_while_any_t_7_5_field_is_empty(clause: str, path: str) -> None:
    label = build_label(INFO, BATCH, ReleaseDecision(ReleaseOutcome.RELEASABLE, QA))
    current = getattr(label, path)
    empty: object = Bilingual("", current.en) if isinstance(current, Bilingual) else None
    if isinstance(current, str):
        empty = " "
    blanked = dataclasses.replace(label, **{path: empty})
    assert [(f.clause, f.subject) for f in label_missing_fields(blanked)] == [(clause, f"label.{path}")]


def test_release_decision_cannot_be_a_rejection() -> None:
    with pytest.raises(ValueError, match="not a release"):
        ReleaseDecision(ReleaseOutcome.NOT_RELEASABLE, QA)


def test_certificate_lists_every_test_with_limit_result_and_method_standing() -> None:
    cert = certificate()
    by_code = {line.code: line for line in cert.lines}
    assert len(cert.lines) == len(SPEC.items)
    assert (by_code["vcn"].limit, by_code["vcn"].result) == ("≤ 5 copies/cell", "2.1")
    assert by_code["sterility_rapid"].method_standing == "rapid (validated)"
    assert by_code["sterility"].method_standing == "compendial"
    assert certificate_issue_check(cert, DonorType.AUTOLOGOUS).allowed


def test_certificate_marks_a_result_changed_after_first_entry() -> None:
    cert = certificate(viability=result("viability", Decimal(91), amended=True))
    assert [line.code for line in cert.lines if line.amended] == ["viability"]


def test_conditional_certificate_lists_the_pending_compendial_tests() -> None:
    pending = QcResult("sterility", SPEC.item("sterility").method, status=ResultStatus.ORDERED)
    cert = certificate(sterility=pending)
    assert cert.outcome is ReleaseOutcome.CONDITIONALLY_RELEASABLE
    assert cert.pending == ("sterility",)
    assert certificate_issue_check(cert, DonorType.AUTOLOGOUS).allowed


def test_certificate_of_a_non_releasable_batch_cannot_be_issued() -> None:
    evaluation = evaluation_with(vcn=result("vcn", Decimal(6)))
    cert = build_certificate(SPEC, evaluation, INFO, BATCH, signatures=(REVIEW,), release=None)
    assert certificate_issue_check(cert, DonorType.AUTOLOGOUS).checks == ("not_released",)


def test_stage_report_cannot_be_issued_while_a_t_7_3_section_is_empty() -> None:
    cert = certificate()
    no_potency = dataclasses.replace(cert, lines=tuple(line for line in cert.lines if line.code != "potency"))
    assert [f.subject for f in stage_report_missing_sections(no_potency)] == ["potency"]
    assert "report_section_empty" in certificate_issue_check(no_potency, DonorType.AUTOLOGOUS).checks


def test_allogeneic_product_needs_third_party_results() -> None:
    gate = certificate_issue_check(certificate(), DonorType.ALLOGENEIC)
    assert set(gate.checks) == {"not_third_party"}
    third = QcResult("vcn", SPEC.item("vcn").method, value=Decimal(2), issuing_lab="Lab X", third_party=True)
    assert "vcn" not in [
        f.subject for f in certificate_issue_check(certificate(vcn=third), DonorType.ALLOGENEIC).findings
    ]


def test_complete_package_can_be_issued_and_takes_collection_date_from_the_batch() -> None:
    pkg = package()
    assert missing_fields(pkg) == ()
    assert pkg.info.cell_source.collection_date == BATCH.collection_date
    assert package_issue_check(pkg, collected_on=date(2026, 3, 1)).allowed


def test_package_blocked_when_cell_source_disagrees_with_the_apheresis_record() -> None:
    gate = package_issue_check(package(), collected_on=date(2026, 2, 28))
    assert [(f.check, f.clause) for f in gate.findings] == [("cell_source_mismatch", "T-7.12-c")]


@pytest.mark.parametrize(
    ("change", "clause"),
    [
        (
            lambda i: dataclasses.replace(i, use_times=dataclasses.replace(i.use_times, after_thaw=None)),
            "T-7.8-a",
        ),
        (
            lambda i: dataclasses.replace(i, risks=dataclasses.replace(i.risks, adverse_reactions=())),
            "T-7.9-a",
        ),
        (
            lambda i: dataclasses.replace(
                i, ae_reporting=dataclasses.replace(i.ae_reporting, time_limit=None)
            ),
            "T-7.10-b",
        ),
        (lambda i: dataclasses.replace(i, process_information=Bilingual("工艺", "")), "T-7.11"),
        (
            lambda i: dataclasses.replace(
                i, storage_transport=dataclasses.replace(i.storage_transport, containers=())
            ),
            "T-7.7-c",
        ),
        (
            lambda i: dataclasses.replace(
                i,
                key_process=dataclasses.replace(i.key_process, cryopreservation_principle=Bilingual("", "")),
            ),
            "T-7.13-e",
        ),
        (
            lambda i: dataclasses.replace(
                i, thaw_preparation=dataclasses.replace(i.thaw_preparation, use_immediately=False)
            ),
            "T-7.14-b",
        ),
    ],
)
def test_package_cannot_be_issued_while_a_mandatory_section_is_empty(change, clause: str) -> None:  # type: ignore[no-untyped-def]
    pkg = package(info=change(INFO))
    assert [f.clause for f in missing_fields(pkg)] == [clause]
    assert not package_issue_check(pkg, collected_on=date(2026, 3, 1)).allowed


def test_package_for_an_unreleased_batch_lacks_the_release_date() -> None:
    evaluation = evaluation_with()
    cert = build_certificate(SPEC, evaluation, INFO, BATCH, signatures=(), release=None)
    pkg = package(certificate=cert)
    assert "T-7.5-b" in [f.clause for f in missing_fields(pkg)]


def test_allogeneic_donor_needs_hla_matching() -> None:
    donor = dataclasses.replace(DONOR, donor_type=DonorType.ALLOGENEIC)
    assert [f.clause for f in missing_fields(package(donor=donor))] == ["T-7.6-d"]


def test_fresh_release_of_a_cryopreserved_product_is_warned() -> None:
    fresh = dataclasses.replace(BATCH, state=ProductState.FRESH)
    (warning,) = key_process_warnings(package(batch=fresh))
    assert (warning.check, warning.clause) == ("formulation_form_differs", "T-7.13-d")
    assert key_process_warnings(package()) == ()


@pytest.mark.parametrize("field", ["name", "id_number", "phone", "address", "date_of_birth"])
def test_donor_summary_refuses_identifying_fields(field: str) -> None:
    values = {"donor_type": "autologous", "donor_code": "P-0193", "screening": (), field: "x"}
    with pytest.raises(IdentifyingDonorData, match=field):
        donor_summary_from_fields(values)


@pytest.mark.parametrize(
    "code",
    ["110101199003074514", "11010119900307451X", "13912345678", "zhang.san@example.cn", "张三"],
)
def test_donor_code_shaped_like_personal_data_is_refused(code: str) -> None:
    with pytest.raises(IdentifyingDonorData):
        DonorSummary(DonorType.AUTOLOGOUS, code, ())


def test_donor_summary_from_pseudonymous_fields() -> None:
    screening = (ScreeningSummary("HCV", "negative", date(2026, 2, 20)),)
    donor = donor_summary_from_fields(
        {"donor_type": "autologous", "donor_code": "P-0193", "screening": screening}
    )
    assert donor == DonorSummary(DonorType.AUTOLOGOUS, "P-0193", screening)


@given(st.from_regex(r"[A-Z]{1,3}-[0-9]{2,6}", fullmatch=True))
def test_pseudonym_codes_are_accepted(code: str) -> None:
    assert DonorSummary(DonorType.AUTOLOGOUS, code, ()).donor_code == code


@given(st.dictionaries(st.text(min_size=1, max_size=12), st.just("x"), min_size=1))
def test_no_field_outside_the_pseudonymous_set_ever_reaches_the_summary(values: dict[str, str]) -> None:
    allowed = {"donor_type", "donor_code", "screening", "hla_match"}
    if set(values) <= allowed:
        return
    with pytest.raises(IdentifyingDonorData):
        donor_summary_from_fields({"donor_type": "autologous", "donor_code": "P-1", **values})
