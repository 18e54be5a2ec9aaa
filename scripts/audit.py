"""`make audit`: pip-audit against the hash-locked requirements, or a plain failure if it cannot.

pip-audit asks PyPI's JSON API which releases have known vulnerabilities. Where that API does not
answer (no internet, only a package mirror), pip-audit marks each package "not found on PyPI" and,
without --strict, still exits 0: an audit that looked at nothing would pass. So this script first
audits one release that is surely on PyPI (pip-audit itself); if that cannot be looked up, it says
so and exits 2. Then it audits the locks with --strict, so that a package it could not check fails
the run as well.
"""

import json
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

UNREACHABLE = 2


def pip_audit() -> str:
    """The pip-audit executable beside this Python (the project's virtualenv)."""
    return str(Path(sys.executable).with_name("pip-audit"))


def database_answers() -> tuple[bool, str]:
    """Whether pip-audit can look a release up in its vulnerability database, and what it said."""
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp, "probe.txt")
        probe.write_text(f"pip-audit=={version('pip-audit')}\n")
        args = [pip_audit(), "--format", "json", "--progress-spinner", "off", "--no-deps"]
        args += ["--disable-pip", "--requirement", str(probe)]
        try:
            done = subprocess.run(args, capture_output=True, text=True, timeout=180)
        except subprocess.TimeoutExpired:
            return False, "no answer within 180 seconds"
    try:
        found = json.loads(done.stdout)["dependencies"]
    except (ValueError, KeyError, TypeError):
        lines = done.stderr.strip().splitlines()
        return False, lines[-1] if lines else f"pip-audit exited {done.returncode}"
    reasons = [dep["skip_reason"] for dep in found if dep.get("skip_reason")]
    if not found or reasons:
        return False, reasons[0] if reasons else "pip-audit looked nothing up"
    return True, ""


def main(locks: list[str]) -> int:
    """Audit the lock files: 0 clean, 1 vulnerable or not all checked, 2 database unreachable."""
    answers, why = database_answers()
    if not answers:
        print(
            "make audit: FAILED, nothing was audited: pip-audit cannot reach its vulnerability "
            f"database (PyPI's JSON API) from this machine ({why}). Run `make audit` where PyPI's "
            "JSON API answers.",
            file=sys.stderr,
        )
        return UNREACHABLE
    args = [pip_audit(), "--strict", "--require-hashes", "--disable-pip"]
    args += ["--progress-spinner", "off"]
    for lock in locks:
        args += ["--requirement", lock]
    return subprocess.run(args).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["requirements.txt", "requirements-dev.txt"]))
