"""Commands on people, roles, qualifications, sign-in and tokens; each one transaction with its ledger entry."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

import pyotp
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from cellchain.accounts.models import (
    ApiToken,
    LoginEvent,
    Organisation,
    Qualification,
    RoleAssignment,
    Site,
    User,
)
from cellchain.accounts.roles import HOSPITAL_ROLES, INCOMPATIBLE_ROLES, MANUFACTURER_ROLES, Role
from cellchain.core import clock
from cellchain.core.errors import AuthenticationRequired, Conflict, NotAllowed, ValidationFailed
from cellchain.ledger.records import record_amend, record_create
from cellchain.ledger.services import ledger_append


def _validation_message(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


# --- organisations and sites -------------------------------------------------------------------------------


@transaction.atomic
def organisation_create(
    *, actor: User | None, code: str, name: str, kind: str, name_en: str = ""
) -> Organisation:
    """Register a manufacturer or clinical institution."""
    org = Organisation(code=code, name=name, name_en=name_en, kind=kind)
    _clean(org)
    record_create(actor=actor, record=org, event="organisation:create")
    return org


@transaction.atomic
def site_create(
    *,
    actor: User | None,
    organisation: Organisation,
    code: str,
    name: str,
    facility_id: str | None = None,
    time_zone: str = "Asia/Shanghai",
) -> Site:
    """Register a site of an organisation."""
    site = Site(organisation=organisation, code=code, name=name, facility_id=facility_id, time_zone=time_zone)
    _clean(site)
    record_create(actor=actor, record=site, event="site:create")
    return site


def _clean(instance: Any) -> None:
    try:
        instance.full_clean()
    except ValidationError as exc:
        field = next(iter(exc.message_dict), None) if hasattr(exc, "message_dict") else None
        raise ValidationFailed(_validation_message(exc), field=field) from None


# --- people and roles --------------------------------------------------------------------------------------


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    printed_name: str,
    site: Site,
    password: str,
    email: str = "",
    roles: tuple[str, ...] = (),
) -> User:
    """Create an individual account at a site; a username once used can never be registered again (11.300(a))."""
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(
            f"The username {username!r} is or was in use and cannot be registered again.", field="username"
        )
    if not printed_name.strip():
        raise ValidationFailed(
            "A printed name is required: it is shown on every signature.", field="printed_name"
        )
    user = User(
        username=username,
        printed_name=printed_name.strip(),
        email=email,
        site=site,
        organisation=site.organisation,
    )
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationFailed(_validation_message(exc), field="password") from None
    user.set_password(password)
    user.password_changed_at = clock.now()
    user.save()
    _ledger_user(actor, user, "create", "user:create")
    for role in roles:
        role_grant(actor=actor, user=user, role=role)
    return user


def _ledger_user(actor: User | None, user: User, action: str, event: str, reason: str = "") -> None:
    # The user row is not a RegulatedModel (Django's auth base); its audit entry goes through a proxy record.
    from cellchain.accounts.records import UserRecord

    ledger_append(actor=actor, record=UserRecord.of(user), action=action, event=event, reason=reason)


@transaction.atomic
def user_deactivate(*, actor: User, user: User, reason: str) -> User:
    """Deactivate an account (never deleted); its sessions end at the next request."""
    if not reason.strip():
        raise ValidationFailed("A reason is required to deactivate an account.", field="reason")
    user.is_active = False
    user.save(update_fields=["is_active"])
    _ledger_user(actor, user, "amend", "user:deactivate", reason)
    return user


@transaction.atomic
def role_grant(*, actor: User | None, user: User, role: str) -> RoleAssignment:
    """Grant a role matching the user's organisation; admin and auditor never together (三员)."""
    if role not in Role.values:
        raise ValidationFailed(f"Unknown role {role!r}.", field="role")
    org = user.organisation
    if org is not None and org.is_manufacturer and role in HOSPITAL_ROLES:
        raise NotAllowed(f"The hospital role {role!r} cannot be given to a manufacturer user.", field="role")
    if org is not None and not org.is_manufacturer and role in MANUFACTURER_ROLES:
        raise NotAllowed(f"The manufacturer role {role!r} cannot be given to a hospital user.", field="role")
    held = set(user.current_roles())
    if role in held:
        raise Conflict(f"{user} already holds the role {role!r}.", field="role")
    for pair in INCOMPATIBLE_ROLES:
        if role in pair and held & (pair - {role}):
            raise NotAllowed(
                "Site administration and audit are separate duties: one account cannot hold both.",
                field="role",
            )
    assignment = record_create(
        actor=actor,
        record=RoleAssignment(
            user=user, role=role, granted_at=clock.now(), granted_by=actor if actor and actor.pk else None
        ),
        event="role:grant",
    )
    return assignment


@transaction.atomic
def role_revoke(*, actor: User, assignment: RoleAssignment, reason: str) -> RoleAssignment:
    """Revoke a role (kept, with its reason)."""
    if assignment.revoked_at is not None:
        raise Conflict("This role was already revoked.")
    assignment.revoked_at = clock.now()
    record_amend(actor=actor, record=assignment, event="role:revoke", reason=reason, fields=["revoked_at"])
    return assignment


# --- qualifications (T-5.3, T-5.1.9; REGULATORY item 33) --------------------------------------------------


@transaction.atomic
def qualification_grant(
    *,
    actor: User | None,
    user: User,
    code: str,
    title: str,
    valid_from: dt.date,
    valid_until: dt.date,
    kind: str = Qualification.Kind.TRAINING,
    evidence: str = "",
) -> Qualification:
    """Record a qualification, training, competence or health check with its validity."""
    qualification = Qualification(
        user=user,
        code=code,
        title=title,
        valid_from=valid_from,
        valid_until=valid_until,
        kind=kind,
        evidence=evidence,
    )
    _clean(qualification)
    record_create(actor=actor, record=qualification, event="qualification:grant")
    return qualification


def require_qualification(user: User, code: str, *, on: dt.date | None = None) -> Qualification:
    """Return the user's valid qualification `code` or refuse the action (T-5.3, T-5.1.9-1; item 33).

    The message names the qualification and whether it is missing or expired, so the person knows what to do.
    """
    day = on or clock.now().date()
    held = [q for q in user.qualifications.filter(code=code, revoked_at__isnull=True)]
    valid = [q for q in held if q.is_valid_on(day)]
    if valid:
        return max(valid, key=lambda q: q.valid_until)
    if held:
        latest = max(held, key=lambda q: q.valid_until)
        raise NotAllowed(
            f"{user.printed_name}'s qualification {code!r} expired on {latest.valid_until.isoformat()}; "
            "renew the training record before this step.",
            field="qualification",
            detail={"qualification": code, "expired_on": latest.valid_until.isoformat()},
        )
    raise NotAllowed(
        f"{user.printed_name} has no qualification {code!r}; record the training before this step.",
        field="qualification",
        detail={"qualification": code},
    )


# --- sign-in, lockout and re-authentication (issue 2 item 6; REGULATORY items 17, 22, 27) -------------------


def _record_login(username: str, user: User | None, outcome: str, ip: str | None) -> None:
    LoginEvent.objects.create(
        at=clock.now(), username=username[:150], user=user, outcome=outcome, ip_address=ip
    )


_SIGN_IN_FAILURES = (LoginEvent.Outcome.FAILURE, LoginEvent.Outcome.MFA_FAILURE)
_SIGNING_FAILURES = (LoginEvent.Outcome.REAUTH_FAILURE,)


def lockout_until(user: User, ip: str | None = None, *, signing: bool = False) -> dt.datetime | None:
    """Return when the lockout of this account from this source ends, or None (issue 15; REGULATORY 22, 27).

    Failures count per account AND source: five wrong passwords from one address lock that address out of
    that account, not the user signing in from their own workstation (otherwise anyone could lock out
    anyone). Wrong passwords at the moment of signing (``signing=True``) come from a session that is
    already signed in, so they count on their own, whatever the source. Any success of the account ends
    the run of failures. API tokens are not checked here: a token keeps working while sign-in is locked.
    """
    window_start = clock.now() - dt.timedelta(seconds=settings.CELLCHAIN_LOCKOUT_SECONDS)
    counted = _SIGNING_FAILURES if signing else _SIGN_IN_FAILURES
    recent = LoginEvent.objects.filter(user=user, at__gte=window_start)
    if not signing:
        source = Q(ip_address=ip) if ip else Q(ip_address__isnull=True)
        recent = recent.filter(source | Q(outcome=LoginEvent.Outcome.SUCCESS))
    events = list(recent.order_by("-at", "-pk").values_list("outcome", "at")[:50])
    failures: list[dt.datetime] = []
    for outcome, at in events:
        if outcome == LoginEvent.Outcome.SUCCESS:
            break
        if outcome in counted:
            failures.append(at)
    if len(failures) < settings.CELLCHAIN_LOCKOUT_THRESHOLD:
        return None
    return failures[0] + dt.timedelta(seconds=settings.CELLCHAIN_LOCKOUT_SECONDS)


GENERIC_LOGIN_ERROR = (
    "The username or password is wrong, or the account is locked. Try again, or ask your site administrator."
)


def sign_in_check(*, username: str, password: str, ip: str | None = None) -> User:
    """Check credentials with lockout; the same message for every failure (REGULATORY item 27)."""
    user = User.objects.select_related("site", "organisation").filter(username__iexact=username).first()
    if user is None:
        # Hash anyway so an unknown username takes as long as a wrong password.
        User(username="timing").set_password(password)
        _record_login(username, None, LoginEvent.Outcome.FAILURE, ip)
        raise AuthenticationRequired(GENERIC_LOGIN_ERROR)
    if lockout_until(user, ip) is not None:
        user.check_password(password)
        _record_login(username, user, LoginEvent.Outcome.LOCKED, ip)
        raise AuthenticationRequired(GENERIC_LOGIN_ERROR)
    if not user.is_active or not user.check_password(password):
        _record_login(username, user, LoginEvent.Outcome.FAILURE, ip)
        if lockout_until(user, ip) is not None:
            _record_login(username, user, LoginEvent.Outcome.LOCKOUT, ip)
        raise AuthenticationRequired(GENERIC_LOGIN_ERROR)
    return user


def sign_in_record_success(user: User, ip: str | None = None) -> None:
    _record_login(user.username, user, LoginEvent.Outcome.SUCCESS, ip)


def sign_in_record(user: User | None, username: str, outcome: str, ip: str | None = None) -> None:
    _record_login(username, user, outcome, ip)


def totp_required(user: User) -> bool:
    """True when the user must give a second factor at sign-in and at signing."""
    device = getattr(user, "totp", None) if hasattr(user, "totp") else None
    return bool(device and device.confirmed_at) or settings.CELLCHAIN_REQUIRE_MFA


def totp_check(user: User, code: str) -> bool:
    """Check a TOTP code once per time step (no replay)."""
    device = getattr(user, "totp", None)
    if device is None or not device.confirmed_at:
        return False
    totp = pyotp.TOTP(device.secret)
    now = clock.now()
    for offset in (0, -1, 1):
        moment = now + dt.timedelta(seconds=30 * offset)
        step = int(moment.timestamp()) // 30
        if step > device.last_used_step and secrets.compare_digest(totp.at(moment), (code or "").strip()):
            device.last_used_step = step
            device.save(update_fields=["last_used_step"])
            return True
    return False


def reauthenticate(user: User, password: str, totp_code: str | None = None) -> None:
    """Ask for the password again at the moment of signing (11.200(a)); a failure counts towards lockout."""
    if lockout_until(user, signing=True) is not None:
        raise AuthenticationRequired("This account is locked after repeated failures; try again later.")
    if not user.is_active or not user.check_password(password or ""):
        _record_login(user.username, user, LoginEvent.Outcome.REAUTH_FAILURE, None)
        raise AuthenticationRequired(
            f"The password for {user.printed_name} is wrong; the signature was not applied.", field="password"
        )
    if (
        getattr(user, "totp", None) is not None
        and user.totp.confirmed_at
        and not totp_check(user, totp_code or "")
    ):
        _record_login(user.username, user, LoginEvent.Outcome.MFA_FAILURE, None)
        raise AuthenticationRequired("The one-time code is wrong or already used.", field="totp")


# --- TOTP enrolment ---------------------------------------------------------------------------------------


@transaction.atomic
def totp_begin(*, actor: User) -> str:
    """Start TOTP enrolment; returns the provisioning URI for an authenticator app."""
    from cellchain.accounts.models import TotpDevice

    device = TotpDevice.objects.filter(user=actor).first()
    if device is None:
        device = record_create(
            actor=actor, record=TotpDevice(user=actor, secret=pyotp.random_base32()), event="totp:begin"
        )
    elif device.confirmed_at:
        raise Conflict("A second factor is already set up for this account.")
    else:
        device.secret = pyotp.random_base32()  # the secret stays out of the ledger (ledger_exclude)
        record_amend(
            actor=actor,
            record=device,
            event="totp:begin",
            reason="second-factor set-up restarted",
            fields=["secret"],
        )
    return pyotp.TOTP(device.secret).provisioning_uri(name=actor.username, issuer_name="CellChain")


@transaction.atomic
def totp_confirm(*, actor: User, code: str) -> None:
    """Confirm enrolment with a first valid code."""
    device = getattr(actor, "totp", None)
    if device is None:
        raise Conflict("Start the second-factor set-up first.")
    if not pyotp.TOTP(device.secret).verify((code or "").strip(), for_time=clock.now(), valid_window=1):
        raise ValidationFailed(
            "The code does not match; check the time on your device and try again.", field="code"
        )
    device.confirmed_at = clock.now()
    record_amend(
        actor=actor,
        record=device,
        event="totp:confirm",
        reason="second factor confirmed",
        fields=["confirmed_at"],
    )


# --- API tokens -------------------------------------------------------------------------------------------


TOKEN_PREFIX_ATTEMPTS = 5


def token_prefix_new() -> str:
    """A fresh 64-bit token prefix in hex (issue 15: 32 bits collided too soon under a unique index)."""
    return secrets.token_hex(8)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, actor: User, name: str) -> tuple[ApiToken, str]:
    """Create a token; the full value is returned once and only its digest is stored."""
    if not name.strip():
        raise ValidationFailed("Give the token a name saying which integration uses it.", field="name")
    secret = secrets.token_urlsafe(32)
    for attempt in range(TOKEN_PREFIX_ATTEMPTS):
        prefix = token_prefix_new()
        try:
            # The prefix is the lookup key (unique); a collision is rare at 64 bits but must not fail the
            # request: try a fresh prefix inside a savepoint, so the outer transaction stays usable.
            with transaction.atomic():
                token = record_create(
                    actor=actor,
                    record=ApiToken(
                        user=actor,
                        name=name.strip(),
                        prefix=prefix,
                        digest=_digest(secret),
                        created_at=clock.now(),
                    ),
                    event="token:create",
                )
            break
        except IntegrityError:
            if attempt == TOKEN_PREFIX_ATTEMPTS - 1:
                raise
    return token, f"cc_{prefix}_{secret}"


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken, reason: str = "revoked by owner") -> ApiToken:
    """Revoke a token at once."""
    if token.revoked_at is not None:
        raise Conflict("This token was already revoked.")
    token.revoked_at = clock.now()
    return record_amend(actor=actor, record=token, event="token:revoke", reason=reason, fields=["revoked_at"])


def api_token_user(raw: str) -> User | None:
    """Return the active user of a valid, unrevoked token, or None."""
    parts = (raw or "").split("_", 2)
    if len(parts) != 3 or parts[0] != "cc":
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=parts[1], revoked_at__isnull=True).first()
    if token is None or not secrets.compare_digest(token.digest, _digest(parts[2])):
        return None
    if not token.user.is_active:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=clock.now())
    return token.user
