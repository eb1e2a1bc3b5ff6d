"""The outgoing patient-identity scanner (issue 12 item 2: "No field that identifies the patient is ever sent
(a test scans every outgoing message)"; T-7.6, T-7.10-d pseudonymous reports)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cellchain.domain.patient_identity import (
    IDENTIFYING_FIELDS,
    is_resident_id,
    patient_identifiers_in,
    resident_id_check_character,
)

SAFE_TEXT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ,.;:()-", max_size=40)
"""Text that can hold no identifier: letters and punctuation, no digits, no @."""
SAFE_KEYS = st.sampled_from(
    ["status", "code", "term", "grade", "onset", "coi", "din", "batch", "outcome", "note"]
)


def resident_ids() -> st.SearchStrategy[str]:
    """Valid 18-character resident identity numbers: region, a real birth date, sequence, check character."""

    def build(region: int, born: dt.date, sequence: int) -> str:
        first17 = f"{region:06d}{born:%Y%m%d}{sequence:03d}"
        return first17 + resident_id_check_character(first17)

    return st.builds(
        build,
        st.integers(110000, 659999),
        st.dates(dt.date(1920, 1, 1), dt.date(2025, 12, 31)),
        st.integers(0, 999),
    )


def json_documents(leaf: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaf,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(SAFE_KEYS, children, max_size=4),
        max_leaves=12,
    )


def test_a_known_valid_resident_id_is_recognised_and_a_wrong_check_character_is_not() -> None:
    """GB 11643-1999 Mod 11-2: the published example 11010519491231002X."""
    assert resident_id_check_character("11010519491231002") == "X"
    assert is_resident_id("11010519491231002X") and is_resident_id("11010519491231002x")
    assert not is_resident_id("110105194912310021")
    assert not is_resident_id("110105194913310028")  # month 13


@settings(max_examples=150, deadline=None)
@given(document=json_documents(SAFE_TEXT | st.integers(-999, 999) | st.booleans() | st.none()))
def test_a_document_without_identifying_fields_or_values_gives_no_finding(document: Any) -> None:
    assert patient_identifiers_in(document) == []
    assert patient_identifiers_in(json.dumps(document)) == []


@settings(max_examples=150, deadline=None)
@given(
    document=json_documents(SAFE_TEXT),
    resident_id=resident_ids(),
    before=SAFE_TEXT,
    after=SAFE_TEXT,
    where=st.integers(0, 1000),
)
def test_a_resident_id_anywhere_in_free_text_is_found(
    document: Any, resident_id: str, before: str, after: str, where: int
) -> None:
    planted = {"items": [document, {"note": f"{before} {resident_id} {after}"}]}
    findings = patient_identifiers_in(planted)
    assert [f.path for f in findings if "resident identity" in f.reason] == ["/items/1/note"]


@settings(max_examples=150, deadline=None)
@given(
    known=st.lists(
        st.text(alphabet="张王李赵ABCDEFGHKMNPRSTWXYZ0123456789-", min_size=2, max_size=14), min_size=1
    ),
    pick=st.integers(0, 100),
    before=SAFE_TEXT,
    after=SAFE_TEXT,
    as_xml=st.booleans(),
)
def test_any_known_identifier_is_found_in_text_json_and_xml(
    known: list[str], pick: int, before: str, after: str, as_xml: bool
) -> None:
    value = known[pick % len(known)]
    text = f"{before}{value}{after}"
    document: Any = f"<report><text>{text}</text></report>" if as_xml else {"narrative": text}
    findings = patient_identifiers_in(document, known=known)
    assert any("patient identifier" in f.reason for f in findings)
    assert all(value not in f.reason for f in findings if len(value) > 1)  # the report masks the value


@settings(max_examples=100, deadline=None)
@given(field=st.sampled_from(sorted(IDENTIFYING_FIELDS)), value=st.text(alphabet="abcdefxyz", min_size=1))
def test_every_identifying_field_with_a_value_is_reported_and_an_empty_one_is_not(
    field: str, value: str
) -> None:
    found = patient_identifiers_in({"patient": {field: value}})
    assert [f.path for f in found] == [f"/patient/{field}"]
    assert patient_identifiers_in({"patient": {field: None}}) == []
    assert patient_identifiers_in({"patient": {field: ""}}) == []


def test_field_names_match_whatever_their_spelling() -> None:
    for key in ("birthDate", "birth_date", "BirthDate", "date-of-birth", "patientWristbandId", "national_id"):
        assert patient_identifiers_in({key: "x1"}), key


def test_phone_numbers_and_email_are_found_but_dates_times_and_identifiers_are_not() -> None:
    for text in (
        "call 13812345678",
        "138 1234 5678",
        "+86 138-1234-5678",
        "010-12345678",
        "+44 20 7946 0958",
    ):
        assert [f.reason for f in patient_identifiers_in({"note": text})] == ["a phone number"], text
    assert [f.reason for f in patient_identifiers_in({"note": "mail li.ming@example.cn"})] == [
        "an e-mail address"
    ]
    harmless = {
        "onset": "2026-12-07T09:30:00+08:00",
        "ts": "20261207093000+0800",
        "din": "W123426800008",
        "coi": "CHW200126800008",
        "oid": "2.16.840.1.113883.3.989.2.1.3.22",
        "note": "ICE 5/10, 39.3 °C, norepinephrine 0.1 µg/kg/min",
    }
    assert patient_identifiers_in(harmless) == []


def test_name_of_a_thing_is_not_a_persons_name_but_a_patients_is() -> None:
    product = {"resourceType": "BiologicallyDerivedProduct", "name": "CD19 CAR-T"}
    assert patient_identifiers_in(product) == []
    assert patient_identifiers_in({"manufacturer": {"name": "Shenghe"}}) == []
    assert [f.path for f in patient_identifiers_in({"resourceType": "Patient", "name": [{"text": "x"}]})] == [
        "/name"
    ]
    assert [f.path for f in patient_identifiers_in({"site": {"patient": {"name": "x"}}})] == [
        "/site/patient/name"
    ]


E2B_PATIENT = """<MCCI_IN200100UV01 xmlns="urn:hl7-org:v3"><name code="1" codeSystem="2.16.840.1.113883.3.989.2.1.1.1"/>
<primaryRole><player1>{name}<birthTime {birth}/></player1>
<subjectOf2><organizer><component><substanceAdministration><consumable><instanceOfKind>
<kindOfProduct><name>CD19 CAR-T</name></kindOfProduct></instanceOfKind></consumable></substanceAdministration>
</component></organizer></subjectOf2></primaryRole></MCCI_IN200100UV01>"""


def test_e2b_masked_patient_is_clean_and_a_named_one_is_not() -> None:
    """E2B(R3) D.1: <name nullFlavor="MSK"/>; the product name (G.k.2.2) and batch type (N.1.1) are no names."""
    masked = E2B_PATIENT.format(name='<name nullFlavor="MSK"/>', birth='nullFlavor="MSK"')
    assert patient_identifiers_in(masked) == []
    named = E2B_PATIENT.format(
        name="<name><given>Ming</given><family>Li</family></name>", birth='value="19800503"'
    )
    paths = sorted(f.path for f in patient_identifiers_in(named, known=["1980-05-03"]))
    root = "/MCCI_IN200100UV01/primaryRole/player1"
    assert paths == [
        f"{root}/birthTime",
        f"{root}/birthTime/@value",  # the known birth date, in HL7's compact form
        f"{root}/name",
        f"{root}/name/family",
        f"{root}/name/given",
    ]


def test_odd_input_is_scanned_as_text_and_entities_are_never_expanded() -> None:
    assert [f.reason for f in patient_identifiers_in("<broken 13812345678")] == ["a phone number"]
    bomb = '<!DOCTYPE a [<!ENTITY e "13812345678">]><a>&e;</a>'
    assert [f.reason for f in patient_identifiers_in(bomb)] == ["a phone number"]  # the declaration, as text
    assert patient_identifiers_in(b'{"note": "ok"}') == []
    assert [f.reason for f in patient_identifiers_in({"n": 13812345678})] == ["a phone number"]


def test_an_organisations_own_address_and_contact_are_not_a_patients() -> None:
    """EPCIS master data or an E2B sender carry the hospital's address and phone; `allowed` lets the
    hospital's own numbers through while a patient's number next to them is still found."""
    site = {"location": {"name": "Xiehe Cell Therapy", "address": "1 Shuaifuyuan", "telecom": "010-69156114"}}
    assert [f.reason for f in patient_identifiers_in(site)] == ["a phone number"]
    assert patient_identifiers_in(site, allowed=["010-69156114"]) == []
    assert [f.path for f in patient_identifiers_in({"address": "1 Shuaifuyuan"})] == ["/address"]
    both = {"note": "ward 010-69156114, patient 13912345678"}
    assert [f.reason for f in patient_identifiers_in(both, allowed=["010-69156114"])] == ["a phone number"]
    assert patient_identifiers_in({"note": "010-69156114"}, known=["69156114"], allowed=["010-69156114"])


@given(
    st.text(alphabet="0123456789abcdef", min_size=64, max_size=64).filter(
        lambda h: any(c in "abcdef" for c in h)
    )
)
def test_a_digest_is_not_a_phone_or_identity_number_whatever_its_digits(hexdigest: str) -> None:
    """Issue 12 item 2 (decision 0022): an EPCIS eventID is `ni:///sha-256;<hex>`; a run of its digits that reads
    like a mobile number must not stop the message. A number written on its own is still found."""
    planted = "13812345678" + hexdigest[11:]  # the digest starting with a mobile-looking run of digits
    for digest in (hexdigest, planted, hexdigest[:20] + "13812345678" + hexdigest[31:]):
        document = {
            "eventID": f"ni:///sha-256;{digest}?ver=CBV2.0",
            "sha256": digest,
            "uri": f"x/B-{digest[:12]}.pdf",
        }
        assert patient_identifiers_in(document) == []
    assert patient_identifiers_in({"note": "call 13812345678"}) != []
    assert patient_identifiers_in({"note": "13812345678"}) != []
    assert patient_identifiers_in({"note": "id 110105199003071234 abc"}) == patient_identifiers_in(
        {"note": "id 110105199003071234"}
    )
