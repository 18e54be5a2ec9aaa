"""Gunicorn settings shared by every benchmark run (the app and the bare hello app alike).

Only the bind address (BENCH_BIND) and the worker count (BENCH_WORKERS, 2 by default) come from
the environment, so the servers compared run the same configuration.
"""

import os

bind = os.environ.get("BENCH_BIND", "127.0.0.1:18081")
workers = int(os.environ.get("BENCH_WORKERS", "2"))
worker_class = "sync"
# Access logging off: writing a log line per request would be measured as well.
accesslog = None
errorlog = "-"
loglevel = "warning"
# wrk keeps its connections open; sync workers close them after each response anyway.
keepalive = 2
timeout = 30
graceful_timeout = 5
# Memory is measured per worker, so the workers are never recycled during a run.
max_requests = 0
# As in production (gunicorn.conf.py): the app is imported in the master and forked, so the
# workers share its pages (measured by PSS). BENCH_PRELOAD=0 measures without it.
preload_app = os.environ.get("BENCH_PRELOAD", "1") == "1"


def pre_fork(server, worker):
    import sys

    if "wsgi" in sys.modules:  # Félag, not the bare hello app
        from app.core.forking import before_fork

        before_fork()


def post_fork(server, worker):
    import sys

    if "wsgi" in sys.modules:
        from app.core.forking import after_fork
        from wsgi import app

        after_fork(app)
