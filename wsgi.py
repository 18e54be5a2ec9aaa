"""WSGI entry point: gunicorn serves wsgi:app, and FLASK_APP=wsgi runs the CLI."""

from app import create_app

app = create_app()
