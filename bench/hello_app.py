"""A bare Flask application with one route: the baseline the Félag pages are compared with."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    """Answer "hello"."""
    return "hello"
