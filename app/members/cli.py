"""`flask members ...`: demo data for benchmarks, and the sweep of old import files."""

import time

import click

from app.members.demo import generate
from app.members.routes import bp
from app.members.tasks import sweep_imports


@bp.cli.command("generate-demo")
@click.option("--count", default=20000, show_default=True, help="How many members to add.")
@click.option("--seed", default=11, show_default=True, help="Random seed (same seed, same people).")
def generate_demo(count: int, seed: int):
    """Add COUNT demo members (with national IDs, addresses and consents) in batches."""
    started = time.perf_counter()
    made = generate(count, seed)
    click.echo(f"Added {made} demo members in {time.perf_counter() - started:.1f} s.")


@bp.cli.command("sweep-imports")
def sweep_imports_command():
    """Delete uploaded import files older than an hour and mark those imports expired."""
    click.echo(f"Swept {sweep_imports()} member imports.")
