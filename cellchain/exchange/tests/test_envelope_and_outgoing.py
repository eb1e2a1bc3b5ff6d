"""The envelope's signature and shape, the outgoing patient-identity check, the back-off (issue 12 item 2)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cellchain.domain.backoff import retry_delay_seconds
from cellchain.exchange.envelope import content_sha256, envelope_build, shape_reasons, signature_verifies
from cellchain.exchange.outgoing import outgoing_findings
from cellchain.verifier.signing import public_key_bytes

KEY = Ed25519PrivateKey.generate()


def _envelope(**changes: object) -> dict:
    envelope = envelope_build(
        private_key=KEY,
        sender="a",
        recipient="b",
        kind="test.note",
        event_id="e1",
        sent_at=dt.datetime(2026, 12, 7, 12, 0, 5, 123, tzinfo=dt.UTC),
        body={"text": "hello", "n": 1},
    )
    envelope.update(changes)
    return envelope


class TestEnvelope:
    def test_the_envelope_has_the_documented_fields_and_verifies(self) -> None:
        envelope = _envelope()
        assert set(envelope) == {
            "format",
            "sender",
            "recipient",
            "kind",
            "event_id",
            "sent_at",
            "body",
            "signature",
        }
        assert envelope["format"] == "cellchain-exchange/1" and envelope["sent_at"] == "2026-12-07T12:00:05Z"
        assert shape_reasons(envelope) == []
        assert signature_verifies(envelope, public_key_bytes(KEY))

    def test_any_change_breaks_the_signature(self) -> None:
        public = public_key_bytes(KEY)
        assert not signature_verifies(_envelope(body={"text": "hellO", "n": 1}), public)
        assert not signature_verifies(_envelope(recipient="c"), public)
        assert not signature_verifies(_envelope(), public_key_bytes(Ed25519PrivateKey.generate()))
        assert not signature_verifies(_envelope(signature="not base64!"), public)

    def test_the_witness_attachment_is_outside_the_signed_content(self) -> None:
        envelope = _envelope()
        with_witness = {**envelope, "witness": {"head": {"size": 3}}}
        assert signature_verifies(with_witness, public_key_bytes(KEY))
        assert content_sha256(with_witness) == content_sha256(envelope)
        # Key order does not matter: the content is canonical JSON.
        assert content_sha256(dict(reversed(list(envelope.items())))) == content_sha256(envelope)

    @pytest.mark.parametrize(
        ("change", "expected"),
        [
            ({"format": "other/1"}, "format"),
            ({"sender": ""}, "sender"),
            ({"body": []}, "body"),
            ({"sent_at": "yesterday"}, "sent_at"),
            ({"sent_at": "2026-12-07T12:00:00+08:00"}, "not in UTC"),
            ({"surplus": 1}, "unknown fields: surplus"),
        ],
    )
    def test_malformed_envelopes_are_named(self, change: dict, expected: str) -> None:
        reasons = shape_reasons(_envelope(**change))
        assert any(expected in reason for reason in reasons), reasons

    def test_a_non_object_is_not_an_envelope(self) -> None:
        assert shape_reasons([1, 2]) == ["the message is a JSON list, not an object (an envelope)"]


@pytest.mark.django_db
class TestOutgoingFindings:
    def test_a_pseudonymous_body_passes(self) -> None:
        assert (
            outgoing_findings({"coi": "COI-2026-0001", "pseudonym": "P-17", "grade": 3, "text": "fever"})
            == []
        )

    @pytest.mark.parametrize(
        "body",
        [
            {"patient": {"family_name": "Wang"}},
            {"subject": {"MRN": "123456"}},
            {"items": [{"phone": "13800138000"}]},
            {"birthDate": "1980-01-01"},
            {"wristband": "WB-1"},
            {"address": "1 Road"},
            {"id_number": "X"},
            {"note": "patient 110101199003074514 had fever"},
        ],
    )
    def test_patient_identity_is_found(self, body: dict) -> None:
        findings = outgoing_findings(body)
        assert findings and all(":" in finding for finding in findings)

    def test_the_finding_names_the_path(self) -> None:
        assert outgoing_findings({"a": {"b": [{"mrn": "1"}]}}) == [
            "a.b[0].mrn: the field 'mrn' may identify a patient and is never sent"
        ]

    def test_empty_identity_fields_are_not_findings(self) -> None:
        assert outgoing_findings({"mrn": "", "phone": None}) == []


class TestBackoff:
    def test_doubles_up_to_the_cap(self) -> None:
        delays = [retry_delay_seconds(n, first_seconds=5, cap_seconds=60) for n in (1, 2, 3, 4, 5, 6, 100)]
        assert delays == [5, 10, 20, 40, 60, 60, 60]

    def test_jitter_draws_below_the_delay(self) -> None:
        assert retry_delay_seconds(3, first_seconds=5, cap_seconds=60, jitter=0.5, draw=lambda: 0.0) == 20
        assert retry_delay_seconds(
            3, first_seconds=5, cap_seconds=60, jitter=0.5, draw=lambda: 0.999
        ) == pytest.approx(10.01)
        spread = {retry_delay_seconds(3, first_seconds=5, cap_seconds=60, jitter=0.25) for _ in range(50)}
        assert len(spread) > 1 and all(15 <= value <= 20 for value in spread)

    def test_bad_parameters_are_refused(self) -> None:
        with pytest.raises(ValueError, match="first"):
            retry_delay_seconds(1, first_seconds=10, cap_seconds=5)
        with pytest.raises(ValueError, match="jitter"):
            retry_delay_seconds(1, first_seconds=1, cap_seconds=5, jitter=2)

    def test_the_email_outbox_uses_the_same_function(self) -> None:
        from cellchain.quality.services import email_retry_delay

        assert email_retry_delay(3) == dt.timedelta(seconds=240)


@pytest.mark.django_db
def test_a_hospital_patients_name_in_free_text_is_caught(
    monkeypatch: pytest.MonkeyPatch, settings: object
) -> None:
    """Issue 12 item 2: the hospital's own identifying values (gathered by clinic.reporting, tested there) are
    looked for in every outgoing value; a manufacturer's installation holds none to look for."""
    from cellchain.clinic import reporting

    monkeypatch.setattr(reporting, "hospital_patient_identifiers", lambda: frozenset({"张三丰"}))
    body = {"note": "fever since Tuesday; 张三丰 seen by the night nurse"}
    settings.CELLCHAIN_INSTALLATION_ROLE = "hospital"  # type: ignore[attr-defined]
    assert outgoing_findings(body), "the patient's name in a note is found"
    assert outgoing_findings({"note": "fever since Tuesday"}) == []
    settings.CELLCHAIN_INSTALLATION_ROLE = "manufacturer"  # type: ignore[attr-defined]
    assert outgoing_findings(body) == []
