"""`cellchain ledger ...`: verify, heads, proofs, bundle export, witnessing, PostgreSQL grants (issue 3).

ledger verify [--json] [--no-replay] [--chunk N] [--progress|--no-progress]   exit 0 only when all holds
ledger verify-run                          run the verifications queued from the status page or the API
ledger head [--issue] [--size N] [--json]
ledger proof inclusion SEQ [--size N]     ledger proof consistency OLD NEW
ledger export [--output FILE] [--size N] [--no-issue-head]
ledger witness export-head [--from-size M] [--output FILE]
ledger witness countersign FILE [--fingerprint SHA256] [--output FILE] [--actor USERNAME]
ledger witness check FILE [--fingerprint SHA256]
ledger witness receive FILE [--actor USERNAME]
ledger witness list
ledger keys [--json]                      the signing-key history (public keys)
ledger rebaseline --reason TEXT [--actor USERNAME] [--dry-run] [--json]   after a schema change (decision 0010)
ledger rotate-key --reason TEXT [--actor USERNAME] [--json]
ledger grants --role ROLE [--schema public] [--apply]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from cellchain.core.errors import ServiceError


class _ProgressBar:
    """A plain-text progress bar on stderr: redrawn in place on a terminal, a line per 10 % otherwise."""

    WIDTH = 30

    def __init__(self, write: Callable[[str], None], tty: bool) -> None:
        self.write, self.tty = write, tty
        self.last_step: dict[str, int] = {}
        self.last_draw = 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        fraction = 1.0 if total <= 0 else min(done / total, 1.0)
        bar = "#" * int(fraction * self.WIDTH)
        text = f"verify {phase:<8} [{bar:<{self.WIDTH}}] {fraction:6.1%} {done}/{total}"
        if self.tty:
            now = time.monotonic()
            if now - self.last_draw >= 0.1 or done >= total:
                self.write(f"\r{text}" + ("\n" if done >= total else ""))
                self.last_draw = now
            return
        step = int(fraction * 10)
        if step != self.last_step.get(phase):
            self.last_step[phase] = step
            self.write(text + "\n")


class Command(BaseCommand):
    help = "Verify the record ledger, serve proofs and heads, export bundles, witness partners' heads."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        verify = commands.add_parser("verify", help="recompute leaves, tree and heads; replay the ledger")
        verify.add_argument("--json", action="store_true", help="print the report as JSON")
        verify.add_argument("--no-replay", action="store_true", help="skip the comparison with the tables")
        verify.add_argument("--chunk", type=int, default=2000, help="entries read per query")
        verify.add_argument(
            "--progress",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="show a progress bar on stderr (default: on a terminal, or past 10000 entries)",
        )

        commands.add_parser(
            "verify-run", help="run the verifications the status page or the API queued (background job)"
        )
        head = commands.add_parser("head", help="show (or issue) a signed tree head")
        head.add_argument("--issue", action="store_true", help="sign the tree as it stands now")
        head.add_argument("--size", type=int, help="the head of this size")
        head.add_argument("--json", action="store_true")

        proof = commands.add_parser("proof", help="inclusion or consistency proof (JSON)")
        kinds = proof.add_subparsers(dest="kind", required=True)
        inclusion = kinds.add_parser("inclusion")
        inclusion.add_argument("seq", type=int)
        inclusion.add_argument("--size", type=int, help="tree size (default: the newest signed head)")
        consistency = kinds.add_parser("consistency")
        consistency.add_argument("old_size", type=int)
        consistency.add_argument("new_size", type=int)

        export = commands.add_parser("export", help="write a bundle for cellchain-verify")
        export.add_argument("--output", "-o", help="file to write (default: standard output)")
        export.add_argument("--size", type=int, help="entries to include (default: the newest signed head)")
        export.add_argument(
            "--no-issue-head", action="store_true", help="do not sign the current tree before exporting"
        )

        witness = commands.add_parser("witness", help="exchange and countersign heads with a partner")
        actions = witness.add_subparsers(dest="action", required=True)
        export_head = actions.add_parser("export-head", help="our newest signed head, for a partner")
        export_head.add_argument("--from-size", type=int, help="add a consistency proof from this size")
        export_head.add_argument("--output", "-o")
        countersign = actions.add_parser("countersign", help="check and countersign a partner's head")
        countersign.add_argument("file")
        countersign.add_argument("--fingerprint", help="SHA-256 of the partner's key, as it published it")
        countersign.add_argument("--output", "-o", help="where to write our countersignature")
        countersign.add_argument("--actor", help="username recorded as the person who witnessed")
        check = actions.add_parser("check", help="check a partner's newer head without countersigning")
        check.add_argument("file")
        check.add_argument("--fingerprint")
        receive = actions.add_parser("receive", help="keep a partner's countersignature of our head")
        receive.add_argument("file")
        receive.add_argument("--actor")
        actions.add_parser("list", help="partner heads we countersigned and countersignatures we hold")

        keys = commands.add_parser("keys", help="the log's signing-key history (public keys)")
        keys.add_argument("--json", action="store_true")
        rotate = commands.add_parser(
            "rotate-key", help="replace the signing key: the old key signs a handover head naming the new one"
        )
        rotate.add_argument("--reason", required=True, help="why the key is rotated (kept in the ledger)")
        rotate.add_argument("--actor", help="username recorded as the person who rotated the key")
        rotate.add_argument("--json", action="store_true")

        rebaseline = commands.add_parser(
            "rebaseline",
            help="after a migration: ledger the new shape of rows that differ from their last entry only in fields "
            "added or removed by a schema change (decision 0010)",
        )
        rebaseline.add_argument(
            "--reason",
            required=True,
            help="the change-control reference of the upgrade (kept in every entry)",
        )
        rebaseline.add_argument("--actor", help="username recorded as the person who re-baselined")
        rebaseline.add_argument(
            "--dry-run", action="store_true", help="report what would be done; append nothing"
        )
        rebaseline.add_argument("--chunk", type=int, default=2000, help="rows read per query")
        rebaseline.add_argument("--json", action="store_true", help="print the report as JSON")

        grants = commands.add_parser("grants", help="PostgreSQL GRANT/REVOKE for the application role")
        grants.add_argument("--role", required=True, help="the role the application connects as")
        grants.add_argument("--schema", default="public")
        grants.add_argument("--apply", action="store_true", help="run the statements (as the tables' owner)")

    def handle(self, *args: Any, **options: Any) -> None:
        handler = getattr(self, f"_{options['subcommand'].replace('-', '_')}")
        try:
            handler(options)
        except ServiceError as error:
            raise CommandError(error.message) from None

    # --- verify -------------------------------------------------------------------------------------------

    def _verify(self, options: dict[str, Any]) -> None:
        from cellchain.ledger.heads import current_size
        from cellchain.ledger.verify import verify_ledger

        show = options["progress"]
        if show is None:
            show = sys.stderr.isatty() or current_size() > 10_000
        bar = _ProgressBar(lambda text: self.stderr.write(text, ending=""), self.stderr.isatty())
        report = verify_ledger(
            progress=bar if show else None, chunk=options["chunk"], replay=not options["no_replay"]
        )
        if options["json"]:
            self.stdout.write(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
        else:
            self.stdout.write("\n".join(report.lines()))
        if not report.ok:
            # Exit status 1: a check failed (BaseCommand turns CommandError into status 1 with the message).
            raise CommandError(f"ledger verification FAILED with {len(report.findings)} finding(s)")

    def _verify_run(self, options: dict[str, Any]) -> None:
        from cellchain.ledger.verify_runs import verify_runs_execute_queued

        for run in verify_runs_execute_queued():
            verdict = "OK" if run.ok else ("FAILED" if run.status == run.Status.DONE else "could not run")
            self.stdout.write(f"verify run {run.pk}: {verdict}")

    # --- heads and proofs ---------------------------------------------------------------------------------

    def _head(self, options: dict[str, Any]) -> None:
        from django.conf import settings

        from cellchain.ledger.export import b64, signed_head_json
        from cellchain.ledger.heads import head_issue, latest_head
        from cellchain.ledger.models import SignedTreeHead
        from cellchain.verifier.signing import key_fingerprint

        if options["issue"]:
            sth = head_issue()
        elif options["size"] is not None:
            sth = SignedTreeHead.objects.filter(
                log_id=settings.CELLCHAIN_LEDGER_LOG_ID, size=options["size"]
            ).first()
        else:
            sth = latest_head()
        if sth is None:
            raise CommandError("no such signed tree head (issue one with `ledger head --issue`)")
        document = {**signed_head_json(sth), "public_key": b64(sth.public_key)}
        if options["json"]:
            self.stdout.write(json.dumps(document, indent=2))
            return
        self.stdout.write(
            f"log {sth.log_id}\nsize {sth.size}\nroot {bytes(sth.root).hex()}\ntime {sth.time}\n"
            f"key SHA-256 {key_fingerprint(bytes(sth.public_key))}"
            + (f"\nhands over to key {sth.next_key_id}" if sth.next_key_id else "")
        )

    # --- signing keys -------------------------------------------------------------------------------------

    def _keys(self, options: dict[str, Any]) -> None:
        from cellchain.ledger.export import key_history
        from cellchain.ledger.selectors import signing_key_list

        if options["json"]:
            self.stdout.write(json.dumps(key_history(), indent=2))
            return
        rows = list(signing_key_list())
        if not rows:
            self.stdout.write("no signing key registered yet (the first signed head registers one)")
        for key in rows:
            retired = f"retired {key.retired_at:%Y-%m-%d %H:%M:%S}Z" if key.retired_at else "ACTIVE"
            self.stdout.write(
                f"{key.key_id}  activated {key.activated_at:%Y-%m-%d %H:%M:%S}Z  {retired}  "
                f"{key.retirement_reason or key.activation_reason}"
            )

    def _rotate_key(self, options: dict[str, Any]) -> None:
        from cellchain.ledger.export import b64
        from cellchain.ledger.rotation import signing_key_rotate

        rotation = signing_key_rotate(actor=self._actor(options["actor"]), reason=options["reason"])
        handover = rotation.handover
        if options["json"]:
            document = {
                "retired_key_id": rotation.retired.key_id,
                "active_key_id": rotation.activated.key_id,
                "active_public_key": b64(rotation.activated.public_key),
                "handover_size": handover.size,
                "handover_time": handover.time,
            }
            self.stdout.write(json.dumps(document, indent=2))
            return
        self.stdout.write(
            f"retired key  {rotation.retired.key_id}\n"
            f"active key   {rotation.activated.key_id}\n"
            f"public key   {b64(rotation.activated.public_key)}\n"
            f"handover     head of size {handover.size} ({handover.time}), signed by the retired key\n"
            "Publish the new key's SHA-256 beside the old one, send partners a new head "
            "(ledger witness export-head --from-size <their last size>) and back up the key file."
        )

    def _rebaseline(self, options: dict[str, Any]) -> None:
        from cellchain.ledger.heads import head_issue
        from cellchain.ledger.rebaseline import ledger_schema_rebaseline

        report = ledger_schema_rebaseline(
            actor=self._actor(options["actor"]),
            reason=options["reason"],
            dry_run=options["dry_run"],
            chunk=options["chunk"],
        )
        if options["json"]:
            self.stdout.write(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
        else:
            self.stdout.write("\n".join(report.lines()))
        if report.rebaselined and not report.dry_run:
            # Sign a head over the re-baseline entries now, so the upgrade is pinned by a signature at once.
            try:
                sth = head_issue()
            except ServiceError as error:
                self.stderr.write(f"re-baselined, but no head could be signed now: {error.message}")
            else:
                if not options["json"]:
                    self.stdout.write(f"signed tree head of size {sth.size} covers the re-baseline entries")
        if not report.ok:
            raise CommandError(
                f"{len(report.refused)} row(s) were NOT re-baselined: they differ from the ledger in a value "
                "(see above); investigate them as changes behind the application's back"
            )

    def _proof(self, options: dict[str, Any]) -> None:
        from cellchain.domain.merkle import ProofError
        from cellchain.ledger import proofs
        from cellchain.ledger.export import b64, bundle_size

        try:
            if options["kind"] == "inclusion":
                size = options["size"] if options["size"] is not None else bundle_size()
                path = proofs.inclusion_proof(options["seq"], size)
                document = {
                    "seq": options["seq"],
                    "size": size,
                    "leaf_hash": b64(proofs.leaf_hash(options["seq"])),
                    "proof": [b64(node) for node in path],
                }
            else:
                path = proofs.consistency_proof(options["old_size"], options["new_size"])
                document = {
                    "old_size": options["old_size"],
                    "new_size": options["new_size"],
                    "proof": [b64(node) for node in path],
                }
        except (ProofError, proofs.MissingNode) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(json.dumps(document, indent=2))

    # --- export -------------------------------------------------------------------------------------------

    def _export(self, options: dict[str, Any]) -> None:
        from cellchain.ledger.export import bundle_chunks
        from cellchain.ledger.heads import head_issue

        if not options["no_issue_head"]:
            head_issue()
        chunks = bundle_chunks(options["size"])
        if options["output"]:
            with Path(options["output"]).open("w", encoding="utf-8") as handle:
                handle.writelines(chunks)
            self.stderr.write(f"bundle written to {options['output']}")
        else:
            for piece in chunks:
                self.stdout.write(piece, ending="")

    # --- witnessing ---------------------------------------------------------------------------------------

    def _witness(self, options: dict[str, Any]) -> None:
        from cellchain.ledger import witness

        action = options["action"]
        if action == "export-head":
            self._emit(witness.head_document(from_size=options["from_size"]), options.get("output"))
        elif action == "countersign":
            witnessed = witness.partner_head_countersign(
                actor=self._actor(options["actor"]),
                document=self._read(options["file"]),
                expected_fingerprint=options["fingerprint"],
            )
            self.stderr.write(f"countersigned {witnessed.log_id} at size {witnessed.size}")
            self._emit(witness.countersignature_document(witnessed), options.get("output"))
        elif action == "check":
            verdict = witness.partner_head_check(
                self._read(options["file"]), expected_fingerprint=options["fingerprint"]
            )
            if not verdict.ok:
                raise CommandError("partner head refused: " + "; ".join(verdict.reasons))
            since = (
                f" consistent with size {verdict.previous.size}"
                if verdict.previous
                else " (first head of this log)"
            )
            self.stdout.write(f"partner head OK:{since}; key SHA-256 {verdict.key_fingerprint}")
        elif action == "receive":
            received = witness.countersignature_receive(
                actor=self._actor(options["actor"]), document=self._read(options["file"])
            )
            self.stdout.write(f"kept {received.witness_id}'s countersignature of size {received.head.size}")
        else:
            self._witness_list()

    def _witness_list(self) -> None:
        from cellchain.ledger.models import HeadCountersignature, WitnessedHead

        for row in WitnessedHead.objects.all():
            self.stdout.write(
                f"countersigned  {row.log_id} size {row.size} root {bytes(row.root).hex()[:16]}… "
                f"at {row.countersigned_at:%Y-%m-%d %H:%M}Z"
            )
        for sig in HeadCountersignature.objects.select_related("head"):
            self.stdout.write(f"countersignature by {sig.witness_id} of our size {sig.head.size}")

    @staticmethod
    def _read(path: str) -> Any:
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
            return json.loads(text)
        except (OSError, ValueError) as error:
            raise CommandError(f"{path}: cannot read a JSON document ({error})") from None

    def _emit(self, document: dict[str, Any], output: str | None) -> None:
        text = json.dumps(document, indent=2)
        if output:
            Path(output).write_text(text + "\n", encoding="utf-8")
        else:
            self.stdout.write(text)

    @staticmethod
    def _actor(username: str | None) -> Any:
        if not username:
            return None
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {username!r}")
        return user

    # --- grants -------------------------------------------------------------------------------------------

    def _grants(self, options: dict[str, Any]) -> None:
        from cellchain.ledger.grants import grant_statements

        try:
            statements = grant_statements(options["role"], options["schema"])
        except ValueError as error:
            raise CommandError(str(error)) from None
        if not options["apply"]:
            self.stdout.write("\n".join(f"{sql};" for sql in statements))
            return
        if connection.vendor != "postgresql":
            raise CommandError(
                "grants apply to PostgreSQL only; SQLite has no roles (the triggers protect it)"
            )
        with transaction.atomic(), connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
        self.stdout.write(f"applied {len(statements)} statements for role {options['role']}")
