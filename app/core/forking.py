"""A preloaded app after gunicorn forks a worker: nothing opened in the master is shared."""

from __future__ import annotations

import gc

from flask import Flask

from app.extensions import db


def before_fork() -> None:
    """Keep the master's objects out of the collector, so it does not copy their shared pages."""
    gc.freeze()


def after_fork(app: Flask) -> None:
    """Drop database connections inherited from the master (without closing them under it)."""
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
