"""Encryption of every payload saksflyt writes to Temporal (AES-256-GCM).

Forms carry fødselsnummer, bank accounts and names, and Temporal keeps every workflow's inputs,
results and signals in its database for as long as the history lives. TOPdesk is classified
confidential (level 3), so nothing from a case may lie there in clear: the codec seals each payload
(its metadata too) under the active key and names the key in the sealed payload's metadata, so a
rotated key encrypts new payloads while histories sealed under an older one stay readable. A
payload that is not sealed passes through on the way in: histories recorded before the codec
existed still replay. A payload sealed under a key this process lacks fails loudly, naming the key,
rather than being handed on as something it is not.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = 32
# A key id is named in every sealed payload and sealed identifier (domain.identifiers.SEALED).
KEY_ID_SHAPE = re.compile(r"[A-Za-z0-9_.-]{1,40}")


class CodecKeyError(ValueError):
    """A payload or a setting names a key that is missing or unusable."""


class EncryptionCodec(PayloadCodec):
    """Seals payloads under the active key; opens them under whichever key they name."""

    def __init__(self, keys: Mapping[str, bytes], active: str) -> None:
        for key_id, key in keys.items():
            if not KEY_ID_SHAPE.fullmatch(key_id):
                raise CodecKeyError(f"codec key id {key_id!r}: use letters, digits, '.', '_', '-'")
            if len(key) != KEY_BYTES:
                raise CodecKeyError(f"codec key {key_id!r} is {len(key)} bytes, not {KEY_BYTES}")
        if active not in keys:
            raise CodecKeyError(f"the active codec key {active!r} is not among the codec keys")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active = active

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.seal(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.open(payload) for payload in payloads]

    def seal(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        key_id = self.active.encode()
        sealed = self._ciphers[self.active].encrypt(nonce, payload.SerializeToString(), key_id)
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id}, data=nonce + sealed)

    def open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before the codec, or by a client without it
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise CodecKeyError(
                f"payload encrypted with codec key {key_id!r}, which this process does not have "
                "(SAKSFLYT_CODEC_KEYS)"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, key_id.encode())
        except InvalidTag:
            raise CodecKeyError(
                f"payload under codec key {key_id!r} does not open: the key's value differs from "
                "the one that sealed it, or the payload was altered"
            ) from None
        return Payload.FromString(plain)


def parse_key(key_id: str, text: str) -> bytes:
    """A key as settings hold it: 32 bytes in base64 (`saksflyt codec-key` makes one)."""
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CodecKeyError(f"codec key {key_id!r} is not base64") from None
    if len(key) != KEY_BYTES:
        raise CodecKeyError(f"codec key {key_id!r} is {len(key)} bytes, not {KEY_BYTES}")
    return key


def new_key() -> str:
    """A fresh key for SAKSFLYT_CODEC_KEYS, in base64."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()
