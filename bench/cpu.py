"""CPU time by process, read from /proc: where a benchmark's cases spend the machine.

On two cores the dev server, the worker, the intake and the TOPdesk simulator share the CPU, so a
ratio of cases/s says little about which of them costs what. A snapshot before and after a phase
gives each process group's CPU seconds in between (Linux only; elsewhere an empty dict).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
GROUPS = (("temporal", "temporal server"), ("simulator", "topdesk simulator"), ("intake", "intake"))


def snapshot() -> dict[str, float]:
    """CPU seconds so far of this process (driver, worker, stubs) and of its descendants,
    grouped by what they run."""
    seconds: dict[str, float] = {}
    for pid in [os.getpid(), *_descendants(os.getpid())]:
        group = "bench process (driver, worker, SAP stub)" if pid == os.getpid() else _group(pid)
        seconds[group] = seconds.get(group, 0.0) + _cpu(pid)
    return seconds


def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {group: after[group] - before.get(group, 0.0) for group in after}


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            parents[int(entry.name)] = int(fields[1])
    found, todo = [], [root]
    while todo:
        parent = todo.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found += children
        todo += children
    return found


def _group(pid: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "other"
    return next((name for key, name in GROUPS if key in command), "other")


def _cpu(pid: int) -> float:
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / TICKS if fields else 0.0


def _stat(pid: int) -> list[str] | None:
    """The fields after the command name (which may hold spaces): state, ppid, …, utime at 11."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def pin(pid: int, cores: set[int]) -> None:
    """Every thread of `pid` (and so the threads it makes later) onto `cores`; a process that
    has ended meanwhile is left."""
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                os.sched_setaffinity(int(task.name), cores)


@contextlib.contextmanager
def apart(server_cores: set[int]) -> Iterator[None]:
    """The Temporal server's processes on `server_cores`, this process and the rest on the
    others, as a deployment has the server on machines of its own; every core for all of them
    again afterwards (the next benchmark of `make bench` runs in this process)."""
    every = set(range(os.cpu_count() or 1))
    processes = [os.getpid(), *_descendants(os.getpid())]
    for pid in processes:
        pin(pid, server_cores if _group(pid) == "temporal server" else every - server_cores)
    try:
        yield
    finally:
        for pid in processes:
            pin(pid, every)
