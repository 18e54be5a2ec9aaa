"""The rule for public statistics: every group shown counts at least K people.

Rows whose counts include a group of 1 to K-1 people are merged into "other" when the rows are
categories (regions, groups); when they are ordered (months, age bands) the small counts are
hidden instead, and so is an "other" row that is still too small. Zero is shown: it points at
nobody.
"""

from __future__ import annotations

from typing import Any

K = 5
OTHER = "__other__"

Row = tuple[Any, list[int | float | None]]


def _small(value, k: int) -> bool:
    return value is not None and 0 < value < k


def k_anonymous(rows: list[Row], mergeable: bool, k: int = K) -> list[Row]:
    """The rows with every group of fewer than k people merged into OTHER or hidden (None)."""
    kept: list[Row] = []
    merged: list[int | float | None] | None = None
    for label, values in rows:
        if not any(_small(v, k) for v in values):
            kept.append((label, list(values)))
        elif mergeable:
            merged = [
                (a or 0) + (b or 0)
                for a, b in zip(merged or [0] * len(values), values, strict=True)
            ]
        else:
            kept.append((label, [None if _small(v, k) else v for v in values]))
    if merged is not None:
        merged_values = [None if _small(v, k) else v for v in merged]
        if any(v for v in merged_values):
            kept.append((OTHER, merged_values))
    return kept
