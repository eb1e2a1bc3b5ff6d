"""The record ledger: append-only entries, Merkle nodes, signed tree heads (DESIGN.md "Records and the ledger")."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cellchain.ledger import guard
from cellchain.ledger.state import row_state


class RegulatedQuerySet(models.QuerySet):
    """Bulk writes skip `save()` and so the ledger: each raises (issue 15 item 1). Reads are unchanged."""

    def update(self, **kwargs: Any) -> int:
        """Only columns the ledger does not hold (`ledger_exclude`: caches, last-used times) update in bulk."""
        if not set(kwargs) <= self.model.ledger_exclude:
            raise guard.refuse("QuerySet.update()", self.model)
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise guard.refuse("QuerySet.delete()", self.model)

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        raise guard.refuse("QuerySet.bulk_create()", self.model)

    def bulk_update(self, objs: Any, fields: Any, *args: Any, **kwargs: Any) -> int:
        raise guard.refuse("QuerySet.bulk_update()", self.model)

    def update_or_create(self, *args: Any, **kwargs: Any) -> Any:
        raise guard.refuse("QuerySet.update_or_create()", self.model)


class RegulatedModel(models.Model):
    """Base of every regulated record: each change is written through a service that appends to the ledger.

    `voided_at`/`void_reason` replace deletion (X-3). `ledger_exclude` names columns kept out of the ledger
    (secrets, caches); `cellchain ledger verify` compares every other column with the ledger's last state.
    """

    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    void_reason = models.TextField(_("reason for voiding"), blank=True)

    ledger_exclude: ClassVar[frozenset[str]] = frozenset()

    objects = RegulatedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save only under the permit of `records.record_*`, which appends the entry in the same transaction.

        A save of columns the ledger does not hold (`ledger_exclude`, e.g. a token's last use) needs no entry.
        """
        update_fields = kwargs.get("update_fields")
        outside_ledger = update_fields is not None and set(update_fields) <= self.ledger_exclude
        if not (guard.permitted(self) or outside_ledger):
            raise guard.refuse("save()", type(self))
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        """A regulated record is never deleted; it is voided with a reason (X-3)."""
        raise guard.refuse("delete()", type(self))

    @classmethod
    def ledger_record_type(cls) -> str:
        return cls._meta.label_lower

    def ledger_state(self) -> dict[str, Any]:
        return row_state(self, self.ledger_exclude)

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None


class LedgerEntry(models.Model):
    """One appended entry; `canonical` holds the RFC 8785 bytes that were hashed (issue 3 item 1)."""

    class Action(models.TextChoices):
        CREATE = "create", _("Create")
        AMEND = "amend", _("Amend")
        SIGN = "sign", _("Sign")
        VOID = "void", _("Void")
        # A schema re-baseline or a data migration (decision 0010): the record changed shape or value
        # because of a migration, not through a service.
        MIGRATE = "migrate", _("Migrate")

    seq = models.BigIntegerField(_("sequence number"), primary_key=True)
    recorded_at = models.DateTimeField(_("recorded at (UTC)"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    record_type = models.CharField(_("record type"), max_length=80)
    record_id = models.CharField(_("record id"), max_length=64)
    action = models.CharField(
        pgettext_lazy("ledger entry operation: create, amend, sign or void", "action"),
        max_length=10,
        choices=Action.choices,
    )
    event = models.CharField(_("event"), max_length=60, help_text=_("subject:verb, e.g. batch:release"))
    canonical = models.BinaryField(_("canonical entry bytes"))
    leaf_hash = models.BinaryField(_("leaf hash"), max_length=32)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["record_type", "record_id", "seq"], name="ledger_record_idx"),
            models.Index(fields=["actor", "seq"], name="ledger_actor_idx"),
        ]
        constraints = [models.CheckConstraint(condition=models.Q(seq__gte=0), name="ledger_seq_nonnegative")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.event} {self.record_type}:{self.record_id}"


class LedgerNode(models.Model):
    """The hash of a perfect aligned subtree (level, index), level >= 1 (RFC 9162 §2.1).

    Level 0, the leaf hashes, is `LedgerEntry.leaf_hash`: storing it twice would double the writes of an append.
    """

    level = models.PositiveSmallIntegerField(_("level"))
    index = models.BigIntegerField(_("index"))
    hash = models.BinaryField(_("hash"), max_length=32)

    class Meta:
        verbose_name = _("ledger tree node")
        constraints = [models.UniqueConstraint(fields=["level", "index"], name="ledger_node_unique")]

    def __str__(self) -> str:
        return f"node ({self.level}, {self.index})"


class LedgerHead(models.Model):
    """The single row locked by every append (SELECT ... FOR UPDATE on PostgreSQL) holding the tree size."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(_("tree size"), default=0)

    class Meta:
        verbose_name = _("ledger head")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="ledger_head_singleton")]

    def __str__(self) -> str:
        return f"ledger head: {self.size} entries"


class SignedTreeHead(models.Model):
    """A tree head signed with the log's Ed25519 key of its time (issue 3 item 3; decision 0008).

    `key_id` names the key of the key history (`LedgerSigningKey`) that signed it; heads signed before key
    rotation existed got it from their `public_key` in migration 0006. `next_key_id` is set only on a key
    handover: the head signed by the retiring key that names its successor (it is part of the signed bytes).
    """

    log_id = models.CharField(_("log id"), max_length=100)
    size = models.BigIntegerField(_("tree size"))
    root = models.BinaryField(_("root hash"), max_length=32)
    time = models.CharField(_("time (RFC 3339 UTC)"), max_length=40)
    signature = models.BinaryField(_("Ed25519 signature"), max_length=64)
    public_key = models.BinaryField(_("public key"), max_length=32)
    # Nullable so that adding them is a plain ALTER TABLE on SQLite (a table rebuild would drop the triggers);
    # every head has a key id once migration 0006 ran.
    key_id = models.CharField(  # noqa: DJ001 - see above
        _("signing key id (SHA-256 of the public key)"), max_length=64, null=True, db_index=True
    )
    # NULL, not "", on every head but a handover: the signed bytes carry the key only when there is one.
    next_key_id = models.CharField(  # noqa: DJ001
        _("next key id (key handover)"), max_length=64, null=True, blank=True
    )

    class Meta:
        verbose_name = _("signed tree head")
        ordering = ["size"]
        constraints = [models.UniqueConstraint(fields=["log_id", "size"], name="sth_one_per_size")]

    def __str__(self) -> str:
        return f"{self.log_id} @ {self.size} ({self.time})"


class WitnessedHead(RegulatedModel):
    """A partner installation's signed tree head that we checked and countersigned (issue 3 item 6).

    The partner's key is pinned by the first head we countersign for its log; each later head must verify
    with that key and be shown consistent, by an RFC 9162 consistency proof, with the last one we countersigned
    (`consistent_with`), so the partner cannot rewrite what we witnessed without it being seen.
    """

    log_id = models.CharField(_("partner log id"), max_length=100)
    size = models.BigIntegerField(_("tree size"))
    root = models.BinaryField(_("root hash"), max_length=32)
    time = models.CharField(_("time (RFC 3339 UTC)"), max_length=40)
    signature = models.BinaryField(_("partner's Ed25519 signature"), max_length=64)
    public_key = models.BinaryField(_("partner's public key"), max_length=32)
    witness_id = models.CharField(_("our witness id"), max_length=100)
    countersignature = models.BinaryField(_("our Ed25519 countersignature"), max_length=64)
    countersigned_at = models.DateTimeField(_("countersigned at"))
    consistent_with = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("shown consistent with"),
    )
    consistency_proof = models.TextField(_("consistency proof (JSON list of base64 hashes)"), blank=True)

    class Meta:
        verbose_name = _("witnessed partner head")
        ordering = ["log_id", "size"]
        constraints = [models.UniqueConstraint(fields=["log_id", "size"], name="witnessed_head_one_per_size")]

    def __str__(self) -> str:
        return f"{self.log_id} @ {self.size}"


class HeadCountersignature(RegulatedModel):
    """A partner's countersignature of one of our signed heads, kept to go into exported bundles."""

    head = models.ForeignKey(
        SignedTreeHead,
        on_delete=models.PROTECT,
        related_name="countersignatures",
        verbose_name=_("our signed head"),
    )
    witness_id = models.CharField(_("witness id"), max_length=100)
    public_key = models.BinaryField(_("witness's public key"), max_length=32)
    signature = models.BinaryField(_("witness's Ed25519 signature"), max_length=64)
    received_at = models.DateTimeField(_("received at"))

    class Meta:
        verbose_name = _("countersignature of our head")
        ordering = ["head__size", "witness_id"]
        constraints = [
            models.UniqueConstraint(fields=["head", "witness_id"], name="countersignature_one_per_witness")
        ]

    def __str__(self) -> str:
        return f"{self.witness_id} countersigned size {self.head.size}"


class LedgerSigningKey(RegulatedModel):
    """One Ed25519 key of this log's signing-key history: the public half, when and why it took over and
    retired, and who did it (decision 0008). The private key lives only in the key file
    (`CELLCHAIN_LEDGER_KEY_PATH`), never in the database.

    Exactly one key is active (a partial unique index); a rotation retires the active key and activates its
    successor in one transaction, and the retiring key signs a head that names the successor (the handover).
    """

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        RETIRED = "retired", _("Retired")

    key_id = models.CharField(_("key id (SHA-256 of the raw public key, hex)"), max_length=64, unique=True)
    public_key = models.BinaryField(_("Ed25519 public key"), max_length=32)
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    predecessor = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="successor",
        verbose_name=_("key it replaced"),
    )
    activated_at = models.DateTimeField(_("activated at"))
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("activated by"),
    )
    activation_reason = models.TextField(_("reason for activation"))
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)
    retired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("retired by"),
    )
    retirement_reason = models.TextField(_("reason for retirement"), blank=True)

    class Meta:
        verbose_name = _("ledger signing key")
        verbose_name_plural = _("ledger signing keys")
        ordering = ["activated_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["state"], condition=models.Q(state="active"), name="ledger_signing_key_one_active"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(state="active", retired_at__isnull=True)
                    | models.Q(state="retired", retired_at__isnull=False)
                ),
                name="ledger_signing_key_retired_iff_dated",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key_id[:16]} ({self.state})"


class VerifyRun(models.Model):
    """One run of the full `ledger verify` started from the status page or the API (issue 15 section 2).

    The web request only records the run; the verification itself runs outside the request (a thread started
    after the commit, or `cellchain ledger verify-run`), writing its phase and progress here so the page can
    poll it. Not a regulated record: it reports on the ledger and is not part of it.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("could not run")

    requested_at = models.DateTimeField(_("requested at"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(_("phase"), max_length=20, blank=True)
    done = models.BigIntegerField(_("done"), default=0)
    total = models.BigIntegerField(_("total"), default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    progressed_at = models.DateTimeField(_("progress last written at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    ok = models.BooleanField(_("every check holds"), null=True, blank=True)
    report = models.JSONField(_("report"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("ledger verification run")
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"verify run {self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        return 100 if self.total <= 0 else min(100, self.done * 100 // self.total)
