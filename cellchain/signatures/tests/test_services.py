"""Electronic signatures and two-person checks (21 CFR 11.50, 11.70, 11.200; X-4, X-5; issue 3 item 10)."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest

from cellchain.accounts import services as accounts
from cellchain.accounts.models import LoginEvent
from cellchain.core import clock
from cellchain.core.errors import AuthenticationRequired, Conflict, NotAllowed
from cellchain.ledger.models import LedgerEntry
from cellchain.ledger.verify import verify_ledger
from cellchain.signatures.content import content_hash
from cellchain.signatures.models import Meaning, Signature
from cellchain.signatures.services import (
    SignerCredentials,
    record_amend,
    record_sign,
    record_void,
    signature_is_current,
    signature_verify,
    signatures_of,
    two_person_check,
)
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(world):
    """A regulated record to sign: the hospital's organisation record."""
    return world.organisations["xiehe"]


def creds(world, username, password=PERSONA_PASSWORD, code=None):
    return SignerCredentials(world[username], password, code)


class TestRecordSign:
    def test_signature_names_printed_name_meaning_time_and_hash(self, world, record):
        """11.50(a): printed name, date and time, meaning; 11.70: bound to the content hash."""
        signature = record_sign(record=record, signer=creds(world, "admin_xiehe"), meaning=Meaning.APPROVED)
        assert signature.printed_name == "何晓 He Xiao"
        assert signature.meaning == "approved" and signature.signed_at is not None
        assert signature.content_hash == content_hash(record)
        assert signature_is_current(signature, record)
        entry = LedgerEntry.objects.latest("seq")
        assert entry.action == "sign" and entry.actor == world["admin_xiehe"]

    def test_wrong_password_is_refused_and_counts_towards_lockout(self, world, record, settings):
        """11.200(a): the password is asked at signing; failures are recorded and lock the account."""
        settings.CELLCHAIN_LOCKOUT_THRESHOLD = 3
        user = world["admin_xiehe"]
        for _ in range(3):
            with pytest.raises(AuthenticationRequired, match="password"):
                record_sign(
                    record=record, signer=creds(world, "admin_xiehe", "wrong-password"), meaning="approved"
                )
        assert LoginEvent.objects.filter(user=user, outcome=LoginEvent.Outcome.REAUTH_FAILURE).count() == 3
        assert not Signature.objects.exists()
        with pytest.raises(AuthenticationRequired, match="locked"):
            record_sign(record=record, signer=creds(world, "admin_xiehe"), meaning="approved")

    def test_one_time_code_is_required_when_set_up(self, world, record):
        user = world["admin_xiehe"]
        uri = accounts.totp_begin(actor=user)
        totp = pyotp.parse_uri(uri)
        accounts.totp_confirm(actor=user, code=totp.now())
        user.refresh_from_db()
        with pytest.raises(AuthenticationRequired, match="one-time code"):
            record_sign(record=record, signer=creds(world, "admin_xiehe"), meaning="approved")
        later = clock.now() + dt.timedelta(seconds=30)
        with clock.frozen(later):
            signature = record_sign(
                record=record,
                signer=SignerCredentials(user, PERSONA_PASSWORD, totp.at(later)),
                meaning="approved",
            )
        assert signature.pk

    def test_unqualified_signer_is_refused(self, world, record):
        with pytest.raises(NotAllowed, match="release"):
            record_sign(
                record=record, signer=creds(world, "admin_xiehe"), meaning="released", qualification="release"
            )
        assert not Signature.objects.exists()

    def test_unsaved_changes_cannot_be_signed(self, world, record):
        record.name = "changed in memory only"
        with pytest.raises(Conflict, match="unsaved"):
            record_sign(record=record, signer=creds(world, "admin_xiehe"), meaning="approved")

    def test_voided_record_cannot_be_signed(self, world, record):
        record_void(actor=world["admin_xiehe"], record=record, reason="entered twice")
        with pytest.raises(Conflict, match="voided"):
            record_sign(record=record, signer=creds(world, "admin_xiehe"), meaning="approved")


class TestBinding:
    """11.70 and REGULATORY item 16: a signature cannot be moved, and a later edit shows the record unsigned."""

    def test_amendment_supersedes_and_asks_for_a_new_signature(self, world, record):
        signature = record_sign(record=record, signer=creds(world, "admin_xiehe"), meaning="approved")
        record_amend(
            actor=world["admin_xiehe"], record=record, changes={"name_en": "Peking Union"}, reason="typo"
        )
        signature.refresh_from_db()
        assert signature.superseded_at is not None and "typo" in signature.superseded_reason
        assert not signature_is_current(signature, record)
        assert not signature_verify(signature).valid
        supersede = LedgerEntry.objects.latest("seq")
        assert supersede.event == "signature:supersede" and supersede.actor == world["admin_xiehe"]
        fresh = record_sign(record=record, signer=creds(world, "admin_xiehe"), meaning="approved")
        assert signature_verify(fresh).valid

    def test_change_behind_the_back_fails_verification(self, world, record, tamper):
        signature = record_sign(record=record, signer=creds(world, "admin_xiehe"), meaning="approved")
        with tamper() as cursor:
            cursor.execute("UPDATE accounts_organisation SET name = 'x' WHERE id = %s", [record.pk])
        check = signature_verify(signature)
        assert not check.valid and "content hash" in check.reasons[0]

    def test_moved_signature_fails_verification_and_the_ledger_names_it(self, world, record, tamper):
        signature = record_sign(record=record, signer=creds(world, "admin_xiehe"), meaning="approved")
        other = world.organisations["renji"]
        with tamper() as cursor:
            cursor.execute(
                "UPDATE signatures_signature SET record_id = %s WHERE id = %s", [str(other.pk), signature.pk]
            )
        signature.refresh_from_db()
        assert not signature_verify(signature).valid
        assert not signature_is_current(signature, other)
        findings = {(f.record_type, f.record_id) for f in verify_ledger().findings}
        assert ("signatures.signature", str(signature.pk)) in findings

    def test_signature_is_not_current_for_another_record_with_the_same_content(self, world, record):
        signature = record_sign(record=record, signer=creds(world, "admin_xiehe"), meaning="approved")
        assert not signature_is_current(signature, world.organisations["renji"])


class TestTwoPersonCheck:
    """X-5, T-10.6 (双人复核): two different qualified users, both re-authenticated."""

    def test_two_qualified_people_sign_performed_and_verified(self, world, record):
        first, second = two_person_check(
            record=record,
            performer=creds(world, "nurse_wang"),
            verifier=creds(world, "nurse_zhou"),
            qualification="labelling",
        )
        assert (first.meaning, second.meaning) == ("performed", "verified")
        assert first.check_id == second.check_id and first.signer != second.signer
        assert [s.pk for s in signatures_of(record)] == [first.pk, second.pk]

    def test_same_person_twice_is_refused(self, world, record):
        with pytest.raises(NotAllowed, match="two different people"):
            two_person_check(
                record=record,
                performer=creds(world, "nurse_wang"),
                verifier=creds(world, "nurse_wang"),
                qualification="labelling",
            )
        assert not Signature.objects.exists()

    def test_unqualified_verifier_is_refused_and_nothing_is_written(self, world, record):
        before = LedgerEntry.objects.count()
        with pytest.raises(NotAllowed, match="labelling"):
            two_person_check(
                record=record,
                performer=creds(world, "nurse_wang"),
                verifier=creds(world, "pharmacist_liu"),
                qualification="labelling",
            )
        assert not Signature.objects.exists() and LedgerEntry.objects.count() == before

    def test_verifier_with_wrong_password_is_refused(self, world, record):
        with pytest.raises(AuthenticationRequired):
            two_person_check(
                record=record,
                performer=creds(world, "nurse_wang"),
                verifier=creds(world, "nurse_zhou", "not-her-password"),
                qualification="labelling",
            )
        assert not Signature.objects.exists()
        assert LoginEvent.objects.filter(
            user=world["nurse_zhou"], outcome=LoginEvent.Outcome.REAUTH_FAILURE
        ).exists()

    def test_expired_qualification_is_refused(self, world, record):
        with clock.frozen(dt.datetime(2099, 1, 1, tzinfo=dt.UTC)), pytest.raises(NotAllowed, match="expired"):
            two_person_check(
                record=record,
                performer=creds(world, "nurse_wang"),
                verifier=creds(world, "nurse_zhou"),
                qualification="labelling",
            )


def test_sign_entries_keep_the_ledger_verifiable(world, record):
    record_sign(record=record, signer=creds(world, "admin_xiehe"), meaning="reviewed")
    record_amend(
        actor=world["admin_xiehe"], record=record, changes={"name_en": "PUMCH"}, reason="official name"
    )
    assert verify_ledger().ok
