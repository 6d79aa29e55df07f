"""What a withdrawn case takes back: every side effect a routine makes outside TOPdesk (a
registration in SAP, a message to SPK) is remembered with the way to undo it until it can no
longer be undone (approved, paid). A case the caller withdraws undoes what is left, newest first;
what a system will not undo any more is left to a person, with the system's reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio.exceptions import ActivityError

from workflows.refusals import final_reason

Undo = Callable[[], Awaitable[object]]


class Withdrawable:
    """The side effects a case can still take back, in the order they were made."""

    def __init__(self) -> None:
        self._undo: list[tuple[str, Undo]] = []

    def on_withdrawal(self, what: str, undo: Undo) -> None:
        """Remember how to take back a side effect (`what`, in words for the case handler),
        should the case be withdrawn before the routine ends."""
        self._undo.append((what, undo))

    def settled(self, what: str) -> None:
        """`what` can no longer be taken back (approved, paid): forget its undo."""
        self._undo = [(name, undo) for name, undo in self._undo if name != what]

    @property
    def undoable(self) -> bool:
        return bool(self._undo)

    async def take_back(self) -> tuple[list[str], list[str]]:
        """Undo everything, newest first: what was undone, and what a system refused to undo
        with its reason (e.g. paid meanwhile; a person must reverse it)."""
        undone: list[str] = []
        left: list[str] = []
        while self._undo:
            what, undo = self._undo.pop()
            try:
                await undo()
            except ActivityError as error:
                reason = final_reason(error)
                if reason is None:
                    raise
                left.append(f"{what}: {reason}")
                continue
            undone.append(what)
        return undone, left
