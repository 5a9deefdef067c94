"""The lock files (scripts/lock.sh) cover what pyproject.toml asks for, at versions it allows,
with a hash for every pin; the Docker image and the bootstrap install from them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
RELOCK = "run `bash scripts/lock.sh` after changing pyproject.toml's dependencies"


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _requirements(group: str | None = None) -> list[Requirement]:
    project = _pyproject()["project"]
    texts = project["dependencies"] if group is None else project["optional-dependencies"][group]
    return [Requirement(text) for text in texts]


def _lock(name: str) -> dict[str, tuple[str, int]]:
    """{package: (version, number of hashes)} of a lock file."""
    pins: dict[str, tuple[str, int]] = {}
    current = None
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        if match := PIN.match(line):
            current = canonicalize_name(match.group(1))
            pins[current] = (match.group(2), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_every_runtime_dependency_is_locked_at_an_allowed_version(lock):
    pins = _lock(lock)
    for requirement in _requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in {lock}: {RELOCK}"
        version = pins[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock} pins {requirement.name}=={version}, outside pyproject.toml's {requirement.specifier}: {RELOCK}"
        )


def test_every_dev_tool_is_locked_and_the_runtime_pins_agree():
    runtime, dev = _lock("requirements.lock"), _lock("requirements-dev.lock")
    for requirement in _requirements("dev"):
        name = canonicalize_name(requirement.name)
        assert name in dev, f"{requirement.name} is not in requirements-dev.lock: {RELOCK}"
        assert requirement.specifier.contains(dev[name][0], prereleases=True), RELOCK
    # The tests run exactly the versions the image runs.
    assert {name: dev[name][0] for name in runtime} == {name: version for name, (version, _) in runtime.items()}


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_every_pin_has_hashes(lock):
    pins = _lock(lock)
    assert len(pins) > 20
    assert [name for name, (_, hashes) in pins.items() if hashes == 0] == []


def test_runtime_dependencies_have_lower_and_upper_bounds():
    """A new major version is taken on purpose (docs/operations.md), never by a fresh lock.
    tzdata alone is open above: it is data, versioned by year."""
    for requirement in _requirements():
        if canonicalize_name(requirement.name) == "tzdata":
            continue
        operators = {spec.operator for spec in requirement.specifier}
        assert operators & {">=", ">", "==", "~="}, f"{requirement}: no lower bound"
        assert operators & {"<", "<=", "==", "~="}, f"{requirement}: no upper bound"


def test_the_image_and_the_bootstrap_install_from_the_locks():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --require-hashes -r requirements.lock" in dockerfile
    assert "pip install --no-deps ." in dockerfile
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.M)
    assert users and users[-1] not in {"root", "0"}, "the image must run as an unprivileged user"
    bootstrap = (ROOT / "scripts" / "bootstrap.sh").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements-dev.lock" in bootstrap
    assert "--no-deps -e ." in bootstrap
