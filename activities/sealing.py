"""Identifiers sealed where they are read, opened only where SAP needs them.

A new-hire form carries the employee's fødselsnummer and bank account. The workflow needs to know
only that they are valid; SAP needs the numbers. So the TOPdesk read seals every valid
fødselsnummer, D-nummer and bank account in a case's texts before they reach the workflow
(`⟨fnr:KEY:…⟩`, domain.identifiers.SEALED), and the SAP registration opens them again: no history
event holds the numbers, not even for a case handler who reads histories through the codec
server. The seal is deterministic (AES-SIV), so the same number read twice is the same token and
a workflow still sees whether a reply changed it. Its keys are the codec's (derived for this use),
so they live and rotate in one place. A number that is not a valid identifier stays as it was
written (as does a fødselsnummer whose birth date lies ahead), for the workflow to name what is
wrong with it. Every fødselsnummer also passes the account check (both are mod 11 with the same
weights), so its token says `fnr+konto`, as the number in clear would pass both checks.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import date

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from domain.identifiers import IDENTIFIER_SHAPE, SEALED, kinds_of

PURPOSE = b"saksflyt sealed identifiers"


class SealError(ValueError):
    """A sealed identifier this process cannot open: a key it lacks, or a token altered."""


class IdentifierSeal:
    def __init__(self, keys: Mapping[str, bytes], active: str) -> None:
        self._sivs = {key_id: AESSIV(_derived(key)) for key_id, key in keys.items()}
        self.active = active

    def seal_text(self, text: str, today: date) -> str:
        """`text` with every valid identifier in it sealed (`today` decides whether a birth date
        lies in the future)."""
        return IDENTIFIER_SHAPE.sub(lambda match: self._sealed(match[0], today), text)

    def open(self, value: str) -> str:
        """The identifier a token seals; a value that is no token is returned as it is (read
        before sealing existed, in a case that was running then)."""
        match = SEALED.fullmatch(value.strip())
        if match is None:
            return value
        siv = self._sivs.get(match["key"])
        if siv is None:
            raise SealError(f"identifier sealed under codec key {match['key']!r}, which is missing")
        try:
            data = base64.urlsafe_b64decode(match["data"] + "=" * (-len(match["data"]) % 4))
            return siv.decrypt(data, [match["kinds"].encode()]).decode()
        except (InvalidTag, ValueError):
            raise SealError(f"identifier under codec key {match['key']!r} does not open") from None

    def _sealed(self, value: str, today: date) -> str:
        kinds = kinds_of(value, today)
        if not kinds or kinds != kinds_of(value, date.max):
            return value  # no identifier, or a fødselsnummer born after today: for the check
        label = "+".join(sorted(kinds))
        compact = re.sub(r"[ .]", "", value)
        data = self._sivs[self.active].encrypt(compact.encode(), [label.encode()])
        return f"⟨{label}:{self.active}:{base64.urlsafe_b64encode(data).decode().rstrip('=')}⟩"


def _derived(key: bytes) -> bytes:
    """A key of AES-SIV's size for this use alone, from a codec key."""
    return HKDF(algorithm=SHA256(), length=64, salt=None, info=PURPOSE).derive(key)
