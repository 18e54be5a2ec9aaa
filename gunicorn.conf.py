"""gunicorn settings for Félag (override with GUNICORN_CMD_ARGS or environment variables)."""

import multiprocessing
import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = 30
graceful_timeout = 20
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
logger_class = "app.core.logs.RedactingLogger"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# The app is imported once in the master and forked: workers share its code and data pages
# (copy-on-write), start faster, and a broken release fails before any worker starts. A deploy
# restarts the master (a HUP alone keeps the old code loaded). bench/README.md has the figures.
preload_app = True


def pre_fork(server, worker):
    from app.core.forking import before_fork

    before_fork()


def post_fork(server, worker):
    from app.core.forking import after_fork
    from wsgi import app

    after_fork(app)
