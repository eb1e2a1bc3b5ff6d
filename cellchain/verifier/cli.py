"""``cellchain-verify``: check an exported ledger bundle offline (REGULATORY.md #9 and #45, T-6.3).

It reads the whole-ledger bundle (``cellchain-ledger-bundle/2``, and ``/1``) and the subset bundle of an
inspection dossier (``cellchain-ledger-subset/1``, ``cellchain.verifier.subset``; issue 14 item 6).

Exit status (issue 15 item 3):

- 0: every check holds and a validly signed head covers every entry;
- 1: a check failed (tampering, a forged or forked head, a wrong key); this wins over 3;
- 2: the bundle cannot be read or is malformed (the message names the field), or an option is malformed;
- 3: every check holds but some entries are not covered by any signed tree head: they are unverified (in a
  subset bundle: a pinned head of another size than the bundle's head could not be compared).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from cellchain.domain.merkle import HASH_SIZE
from cellchain.domain.treehead import decode_base64
from cellchain.verifier.bundle import (
    RESULT_FAILED,
    RESULT_OK,
    BundleError,
    TrustedHead,
    VerifyReport,
    trusted_head_from_json,
    verify_bundle,
)
from cellchain.verifier.signing import PUBLIC_KEY_SIZE
from cellchain.verifier.subset import SUBSET_FORMAT, SubsetReport, verify_subset_bundle

EXIT_OK, EXIT_FAILED, EXIT_MALFORMED, EXIT_UNVERIFIED = 0, 1, 2, 3
EXIT_STATUS_HELP = (
    "exit status: 0 every check holds and a signed head covers every entry; 1 a check failed (tampered, "
    "forged, forked or wrongly signed; wins over 3); 2 the bundle or an option is unreadable or malformed; "
    "3 no check failed but entries after the newest signed head are covered by none: unverified (subset "
    "bundle: a --trusted-head of another size than its head could not be compared)"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cellchain-verify",
        description="Check a CellChain ledger bundle offline: entries, signed heads, consistency, witnesses; "
        f"or a subset bundle ({SUBSET_FORMAT}, the ledger part of an inspection dossier): each entry's "
        "inclusion proof to one signed head, the record list, the head's key.",
        epilog=EXIT_STATUS_HELP,
    )
    parser.add_argument("bundle", help="bundle JSON file, or - for standard input")
    parser.add_argument("--log-key", metavar="BASE64", help="trusted raw Ed25519 public key of the log")
    parser.add_argument(
        "--witness-key",
        metavar="ID=BASE64",
        action="append",
        default=[],
        help="trusted raw Ed25519 public key of a witness (repeatable)",
    )
    parser.add_argument(
        "--trusted-head",
        metavar="SIZE:ROOT|FILE",
        action="append",
        default=[],
        help="a head obtained earlier, pinned: SIZE:ROOT with the root as 64 hex digits (as `ledger head` "
        "prints it) or base64, or a head JSON file (`ledger head --json`, an item of a bundle's heads); the "
        "bundle's first SIZE entries must hash to ROOT, so a rewritten history fails even if re-signed "
        "(repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def _key(value: str, field: str) -> bytes:
    key = decode_base64(value, field)
    if len(key) != PUBLIC_KEY_SIZE:
        raise ValueError(f"{field}: {len(key)} bytes; a raw Ed25519 public key is {PUBLIC_KEY_SIZE}")
    return key


def _witness_keys(values: Sequence[str]) -> dict[str, bytes] | None:
    if not values:
        return None
    keys = {}
    for value in values:
        witness_id, separator, encoded = value.partition("=")
        if not separator or not witness_id:
            raise ValueError(f"--witness-key {value!r}: expected ID=BASE64")
        keys[witness_id] = _key(encoded, f"--witness-key {witness_id}")
    return keys


_INLINE_HEAD = re.compile(r"([0-9]+):(.*)", re.DOTALL)


def _root(text: str, field: str) -> bytes:
    """A SHA-256 root as 64 hex digits or as standard base64 (the two ways the log shows one)."""
    if re.fullmatch(r"[0-9a-fA-F]{64}", text):
        return bytes.fromhex(text)
    try:
        root = decode_base64(text, field)
    except ValueError:
        root = b""
    if len(root) != HASH_SIZE:
        raise ValueError(f"{field}: root {text!r} is neither 64 hex digits nor base64 of {HASH_SIZE} bytes")
    return root


def _trusted_head(value: str) -> TrustedHead:
    """``--trusted-head SIZE:ROOT`` or ``--trusted-head FILE`` (a head JSON document); ``ValueError`` says
    what is wrong with it (issue 15 item 3)."""
    field = f"--trusted-head {value!r}"
    inline = _INLINE_HEAD.fullmatch(value)
    if inline is not None:
        size, root = int(inline.group(1)), _root(inline.group(2), field)
        try:
            return TrustedHead(size=size, root=root, source="from --trusted-head")
        except ValueError as error:
            raise ValueError(f"{field}: {error}") from None
    if not Path(value).is_file():
        raise ValueError(f"{field}: expected SIZE:ROOT (e.g. 1200:<64 hex digits>) or a head JSON file")
    try:
        data = _read(value, sys.stdin)
    except BundleError as error:
        raise ValueError(f"--trusted-head {error}") from None
    try:
        return trusted_head_from_json(data, f"from {value}")
    except ValueError as error:
        raise ValueError(f"--trusted-head {value}: {error}") from None


def _read(path: str, stdin: TextIO) -> Any:
    source = "standard input" if path == "-" else path
    try:
        text = stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BundleError(f"{source}: cannot read ({error})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise BundleError(
            f"{source}: not JSON ({error.msg} at line {error.lineno}, column {error.colno})"
        ) from None


def main(argv: Sequence[str] | None = None, *, stdin: TextIO | None = None) -> int:
    """Run the verifier; return the exit status (0 all checks hold, 1 a check failed, 2 unreadable or
    malformed, 3 entries not covered by a signed head)."""
    arguments = _parser().parse_args(argv)
    try:
        # Options first: a malformed option is named before the bundle is read.
        trusted_log_key = None if arguments.log_key is None else _key(arguments.log_key, "--log-key")
        trusted_witness_keys = _witness_keys(arguments.witness_key)
        trusted_heads = [_trusted_head(value) for value in arguments.trusted_head]
        data = _read(arguments.bundle, stdin or sys.stdin)
        report: VerifyReport | SubsetReport
        if isinstance(data, dict) and data.get("format") == SUBSET_FORMAT:
            # A dossier's subset carries no witnesses: --witness-key has nothing to check there.
            report = verify_subset_bundle(data, trusted_log_key=trusted_log_key, trusted_heads=trusted_heads)
        else:
            report = verify_bundle(
                data,
                trusted_log_key=trusted_log_key,
                trusted_witness_keys=trusted_witness_keys,
                trusted_heads=trusted_heads,
            )
    except BundleError as error:
        print(f"cellchain-verify: unreadable or malformed bundle: {error}", file=sys.stderr)
        return EXIT_MALFORMED
    except ValueError as error:
        print(f"cellchain-verify: {error}", file=sys.stderr)
        return EXIT_MALFORMED
    if arguments.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print("\n".join(report.lines()))
    return _exit_status(report.result)


def _exit_status(result: str) -> int:
    """The exit status of a report's result: a failed check wins over unverified entries (issue 15 item 3)."""
    if result == RESULT_OK:
        return EXIT_OK
    return EXIT_FAILED if result == RESULT_FAILED else EXIT_UNVERIFIED


if __name__ == "__main__":
    sys.exit(main())
