"""The personnel file's vocabulary that the workflows use: the kinds of document filed in ePhorte.

The archive itself (port and stub) is `adapters/dfo/archive.py`; it takes these values as they are.
"""

from __future__ import annotations

from enum import StrEnum


class DocumentType(StrEnum):
    """NTNU's document types (dfo-domain.md §4, "Ephorte - kodeoversikt")."""

    INCOMING = "I"
    OUTGOING = "U"
    NOTE = "N"  # internal note to be followed up
    NOTE_NO_FOLLOW_UP = "X"
