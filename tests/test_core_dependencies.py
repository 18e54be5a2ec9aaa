"""The dependency locks and the image: every package hash-pinned, the top-level pins and the locks
agree, the tests run on the locked versions, the app imports only runtime-locked packages,
`make audit` fails when it cannot look, and the image's runtime stage has no build or test tools."""

import ast
import os
import re
import socket
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
LOCKS = {"requirements.in": "requirements.txt", "requirements-dev.in": "requirements-dev.txt"}
TEST_TOOLS = {"pytest", "playwright", "ruff", "moto", "fakeredis", "aiosmtpd", "zxing-cpp", "uv"}


def canonical(name: str) -> str:
    """A distribution name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Locked:
    """One requirement of a lock file."""

    requirement: Requirement
    hashes: set[str]

    @property
    def version(self) -> str:
        """The one version the lock allows."""
        (spec,) = self.requirement.specifier
        return spec.version


def logical_lines(path: Path) -> list[str]:
    """The file's lines with backslash continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    lines = (line.split(" #")[0].strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def read_lock(name: str) -> dict[str, Locked]:
    """The requirements of a lock file by canonical name."""
    locked = {}
    for line in logical_lines(ROOT / name):
        assert not line.startswith("-"), f"{name}: option line {line!r} (PyPI only, no -e/-i/-f)"
        spec, *hashes = line.split(" --hash=")
        requirement = Requirement(spec.strip())
        locked[canonical(requirement.name)] = Locked(requirement, {h.strip() for h in hashes})
    return locked


def read_pins(name: str) -> dict[str, Requirement]:
    """The top-level pins of a .in file (its -r/-c lines left out)."""
    pins = {}
    for line in logical_lines(ROOT / name):
        if not line.startswith("-"):
            requirement = Requirement(line)
            pins[canonical(requirement.name)] = requirement
    return pins


@pytest.mark.parametrize("lock", sorted(LOCKS.values()))
def test_every_locked_package_is_pinned_to_one_version_with_sha256_hashes(lock):
    locked = read_lock(lock)
    assert len(locked) > 40
    for name, entry in locked.items():
        assert str(entry.requirement.specifier).startswith("=="), name
        assert entry.requirement.url is None, name
        assert entry.hashes, f"{lock}: {name} has no hash"
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in entry.hashes), name


@pytest.mark.parametrize("source, lock", sorted(LOCKS.items()))
def test_top_level_pins_and_their_lock_agree(source, lock):
    locked = read_lock(lock)
    for name, pin in read_pins(source).items():
        assert name in locked, f"{name} is pinned in {source}, not in {lock}: run make lock"
        assert str(pin.specifier) == f"=={locked[name].version}", (
            f"{source} pins {pin} but {lock} has {locked[name].version}: run make lock"
        )


def test_the_dev_lock_has_every_runtime_package_at_the_same_version_and_hashes():
    runtime, dev = read_lock("requirements.txt"), read_lock("requirements-dev.txt")
    assert set(read_pins("requirements.in")) <= set(runtime)
    for name, entry in runtime.items():
        assert name in dev, name
        assert dev[name].version == entry.version, name
        assert dev[name].hashes == entry.hashes, name


def test_the_runtime_lock_carries_no_test_or_development_tools():
    assert TEST_TOOLS.isdisjoint(read_lock("requirements.txt"))
    assert TEST_TOOLS <= set(read_lock("requirements-dev.txt"))


def test_the_tests_run_on_exactly_the_locked_versions():
    wrong = []
    for name, entry in read_lock("requirements-dev.txt").items():
        marker = entry.requirement.marker
        if marker is not None and not marker.evaluate():
            continue
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != entry.version:
            wrong.append(f"{name}: locked {entry.version}, installed {installed}")
    assert not wrong, "the environment is not the lock (make install-dev): " + "; ".join(wrong)


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_audit_fails_and_says_so_when_the_vulnerability_database_cannot_be_reached(tmp_path):
    # Every HTTPS request goes to a proxy that is not there, as on a machine without internet.
    proxy = f"http://127.0.0.1:{closed_port()}"
    env = {k: v for k, v in os.environ.items() if k.lower() not in {"no_proxy", "https_proxy"}}
    env.update(HTTPS_PROXY=proxy, https_proxy=proxy, XDG_CACHE_HOME=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "scripts/audit.py", "requirements.txt", "requirements-dev.txt"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert "nothing was audited" in done.stderr
    assert "cannot reach its vulnerability database" in done.stderr


def dockerfile_stages() -> dict[str, str]:
    """The Dockerfile's stages by name, each with its instructions."""
    stages, name = {}, None
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        found = re.match(r"FROM \S+ AS (\w+)", line)
        if found:
            name = found.group(1)
            stages[name] = ""
        elif name and not line.startswith("#"):
            stages[name] += line + "\n"
    return stages


def test_the_image_installs_the_lock_and_its_runtime_stage_has_no_node_tests_or_root():
    stages = dockerfile_stages()
    assert list(stages) == ["build", "runtime"]
    build, runtime = stages["build"], stages["runtime"]
    assert re.search(r"install --require-hashes .*\\\n\s+-r requirements.txt", build)
    assert "npm ci" in build and "babel.messages.frontend compile" in build
    for absent in ("npm", "node", "apt-get", "requirements", "pip ", "tests"):
        assert absent not in runtime, absent
    assert re.search(r"^USER [1-9]\d*:[1-9]\d*$", runtime, re.M)
    assert 'CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]' in runtime


def test_the_dockerfile_passes_hadolint():
    hadolint = Path(sys.executable).with_name("hadolint")
    done = subprocess.run(
        [str(hadolint), "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def imported_modules(paths: list[Path]) -> set[str]:
    """The top-level names of every absolute import in these files."""
    names = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


def test_what_the_image_runs_imports_only_packages_of_the_runtime_lock():
    # The runtime image has only requirements.txt: a dev-only import in app code would crash there.
    files = [ROOT / name for name in ("config.py", "wsgi.py", "gunicorn.conf.py")]
    files += sorted((ROOT / "app").rglob("*.py")) + sorted((ROOT / "migrations").rglob("*.py"))
    local = {"app", "config", "wsgi"}
    third_party = imported_modules(files) - set(sys.stdlib_module_names) - local
    providers = packages_distributions()
    runtime = set(read_lock("requirements.txt"))
    outside = {
        module: providers.get(module)
        for module in third_party
        if not {canonical(dist) for dist in providers.get(module, [])} & runtime
    }
    assert not outside, f"imported by the app but not in the runtime lock: {outside}"
