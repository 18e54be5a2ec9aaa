"""A short-lived cache of statistics rows in this process: a busy page reads each figure once a
minute at most. Rows are plain values (labels are made per reader), shared by every language."""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from flask import current_app

MAX_ENTRIES = 256
_entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
_lock = threading.Lock()


def cache_seconds() -> float:
    """STATS_CACHE_SECONDS from the config or the environment (0 turns the cache off); 60 by
    default, and off under test unless set."""
    value = current_app.config.get("STATS_CACHE_SECONDS", os.environ.get("STATS_CACHE_SECONDS"))
    if value is None:
        return 0.0 if current_app.testing else 60.0
    return float(value)


def cached(key: Hashable, compute: Callable[[], Any]) -> Any:
    """The value for the key, computed at most once per cache_seconds()."""
    ttl = cache_seconds()
    if ttl <= 0:
        return compute()
    now = time.monotonic()
    with _lock:
        hit = _entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
    value = compute()
    with _lock:
        _entries[key] = (now + ttl, value)
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return value


def clear() -> None:
    """Forget every cached value (after staff change what is public, and in tests)."""
    with _lock:
        _entries.clear()
