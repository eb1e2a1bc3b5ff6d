"""Ed25519 signatures over tree heads, by the log and by witnesses (REGULATORY.md #9, #45).

Both the log and a witness sign ``tree_head_bytes(head)``; nothing else is signed, so a signature made
by one CellChain release verifies with any later one.
"""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cellchain.domain.treehead import Countersignature, TreeHead, tree_head_bytes

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64


class SignatureError(ValueError):
    """An Ed25519 signature over a tree head does not verify; the message says which and why."""


def public_key_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The raw 32-byte public key (RFC 8032), as bundles carry it in base64."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_fingerprint(public_key: bytes) -> str:
    """SHA-256 of the raw public key in hex: what an inspector compares with the published value."""
    return hashlib.sha256(public_key).hexdigest()


def _public_key(public_key: Ed25519PublicKey | bytes) -> Ed25519PublicKey:
    if isinstance(public_key, Ed25519PublicKey):
        return public_key
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise SignatureError(f"public key is {len(public_key)} bytes; an Ed25519 key is {PUBLIC_KEY_SIZE}")
    return Ed25519PublicKey.from_public_bytes(public_key)


def sign_head(private_key: Ed25519PrivateKey, head: TreeHead) -> bytes:
    """The log's (or a witness's) 64-byte Ed25519 signature over ``tree_head_bytes(head)``."""
    return private_key.sign(tree_head_bytes(head))


def verify_head_signature(public_key: Ed25519PublicKey | bytes, head: TreeHead, signature: bytes) -> None:
    """Check an Ed25519 signature over ``tree_head_bytes(head)``; ``SignatureError`` says why it fails."""
    if len(signature) != SIGNATURE_SIZE:
        raise SignatureError(f"signature is {len(signature)} bytes; an Ed25519 signature is {SIGNATURE_SIZE}")
    try:
        _public_key(public_key).verify(signature, tree_head_bytes(head))
    except InvalidSignature:
        raise SignatureError(
            f"Ed25519 signature over the head of size {head.size} ({head.time}) does not verify with key "
            f"{key_fingerprint(public_key_bytes(_public_key(public_key)))[:16]}"
        ) from None


def countersign(private_key: Ed25519PrivateKey, witness_id: str, head: TreeHead) -> Countersignature:
    """A witness's countersignature: its own signature over the log's head bytes, naming itself."""
    return Countersignature(witness_id=witness_id, head=head, signature=sign_head(private_key, head))


def verify_countersignature(public_key: Ed25519PublicKey | bytes, countersignature: Countersignature) -> None:
    """Check a witness's countersignature with the witness's key; ``SignatureError`` says why it fails."""
    try:
        verify_head_signature(public_key, countersignature.head, countersignature.signature)
    except SignatureError as error:
        raise SignatureError(f"witness {countersignature.witness_id}: {error}") from None
