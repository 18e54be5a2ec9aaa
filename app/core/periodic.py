"""Periodic work: functions the jobs worker runs every so many seconds, once across all workers.

A domain marks a function with `@periodic(seconds=...)`; the relay's tick (`flask jobs worker`,
or the in-process relay in development) calls `schedule_periodic`, which writes one job row per
function and time slot under a unique key, so two workers ticking at once write it once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from app.core.jobs import commit, enqueue_after_commit, kind_of

PERIODIC: dict[str, tuple[int, Callable[[], Any]]] = {}


def periodic(seconds: int) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Register a function that the jobs worker runs every `seconds` (once across all workers)."""

    def register(func: Callable[[], Any]) -> Callable[[], Any]:
        PERIODIC[kind_of(func)] = (seconds, func)
        return func

    return register


def schedule_periodic(now: float | None = None) -> int:
    """Write the job of each periodic function whose time slot has come (unique key per slot)."""
    now = time.time() if now is None else now
    written = 0
    for kind, (seconds, task) in PERIODIC.items():
        slot = int(now // seconds)
        if _slots_tried.get(kind) == slot:  # this process tried it: no insert per relay tick
            continue
        _slots_tried[kind] = slot
        if enqueue_after_commit(task, key=f"periodic:{kind}:{slot}", max_attempts=1) is not None:
            written += 1
    commit()
    return written


_slots_tried: dict[str, int] = {}
