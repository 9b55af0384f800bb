"""The Dockerfile lints clean, passes checkov, copies only what exists, and installs from the lock."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"
LOCK = ROOT / "requirements.lock"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def stages() -> list[list[tuple[str, str]]]:
    """The instructions of each build stage."""
    found: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            found.append([])
        found[-1].append(instruction)
    return found


def dockerignored(path: str) -> bool:
    """Whether Docker leaves `path` out of the build context (last matching pattern wins, as in Docker)."""
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    ignored = False
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        if not pattern or pattern.startswith("#"):
            continue
        negate, pattern = pattern.startswith("!"), pattern.lstrip("!").rstrip("/")
        variants = {pattern, pattern.removeprefix("**/")}
        if any(fnmatch.fnmatchcase(candidate, variant) for candidate in candidates for variant in variants):
            ignored = not negate
    return ignored


def test_hadolint_reports_no_warning(deploy_bin: Path) -> None:
    done = subprocess.run(
        [str(deploy_bin / "hadolint"), "--failure-threshold", "warning", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_checkov_finds_no_failed_check_on_the_dockerfile(deploy_bin: Path) -> None:
    done = subprocess.run(
        [
            str(deploy_bin / "checkov"),
            "-f",
            str(DOCKERFILE),
            "--framework",
            "dockerfile",
            "--skip-download",
            "--output",
            "json",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(done.stdout) if done.stdout.strip() else {}
    assert report.get("results", {}).get("failed_checks", []) == []


def test_the_final_stage_is_slim_runs_as_a_non_root_user_and_starts_the_exporter_on_all_interfaces() -> None:
    *_, final = stages()
    assert len(stages()) >= 2
    assert re.fullmatch(r"python:3\.11-slim-\w+", final[0][1])
    as_dict = dict(final)
    assert as_dict["USER"].split(":")[0] not in ("root", "0")
    assert as_dict["EXPOSE"] == "9877"
    assert "/healthz" in as_dict["HEALTHCHECK"]
    assert json.loads(as_dict["CMD"]) == ["python", "-m", "exporter", "serve", "--host", "0.0.0.0", "--port", "9877"]


def test_no_build_tool_or_package_manager_run_reaches_the_final_stage() -> None:
    *_, final = stages()
    runs = " ".join(arguments for instruction, arguments in final if instruction == "RUN")
    assert not re.search(r"\b(apt-get|apt|gcc|make|pip)\b", runs), runs
    copies = [arguments for instruction, arguments in final if instruction == "COPY"]
    assert copies == ["--from=build /opt/venv /opt/venv"]


def test_dependencies_are_installed_from_the_lock_without_resolving_anything_else() -> None:
    build, *_ = stages()
    runs = [arguments for instruction, arguments in build if instruction == "RUN" and "pip install" in arguments]
    assert runs[0].startswith("pip install --no-cache-dir --no-deps --requirement requirements.lock")
    assert all("--no-deps" in run for run in runs)


def test_every_file_the_build_copies_exists_and_is_in_the_build_context() -> None:
    for instruction, arguments in instructions():
        if instruction != "COPY" or arguments.startswith("--from"):
            continue
        *sources, _ = arguments.split()
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
            assert not dockerignored(source.rstrip("/")), f"COPY {source}: excluded by .dockerignore"


@pytest.mark.parametrize(
    "path",
    [
        "tests/deploy/conftest.py",
        ".venv/bin/python",
        ".venv-agent/bin/python",
        ".tools/promtool",
        "exporter/__pycache__/cli.cpython-311.pyc",
        ".pytest_cache/v/x",
        ".git/HEAD",
        "helm/README.md",
    ],
)
def test_dockerignore_keeps_tests_tools_and_caches_out_of_the_build_context(path: str) -> None:
    assert dockerignored(path)


@pytest.mark.parametrize(
    "path", ["pyproject.toml", "requirements.lock", "README.md", "exporter/cli.py", "exporter/demo/sample.py"]
)
def test_dockerignore_lets_the_package_into_the_build_context(path: str) -> None:
    assert not dockerignored(path)


def _pins(lock: Path) -> dict[str, str]:
    pins = {}
    for line in lock.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", line
            pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def _requires(name: str, extras: frozenset[str]) -> list[Requirement]:
    """What an installed distribution needs on this platform, with these extras, markers resolved."""
    needed = []
    for spec in metadata.requires(name) or []:
        requirement = Requirement(spec)
        if requirement.marker is None or any(
            requirement.marker.evaluate({**default_environment(), "extra": extra}) for extra in {"", *extras}
        ):
            requirement.marker = None
            needed.append(requirement)
    return needed


def runtime_closure(lock: Path) -> dict[str, str]:
    """Every distribution the package needs at run time, checked against the lock's pins."""
    pins = _pins(lock)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(spec) for spec in project["dependencies"]]
    closure: dict[str, str] = {}
    while wanted:
        requirement = wanted.pop()
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} (needed by the package) is not pinned in {lock.name}"
        assert requirement.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} vs {requirement}"
        if name not in closure:
            closure[name] = pins[name]
            wanted += _requires(name, frozenset(requirement.extras))
    return closure


def test_the_lock_pins_every_runtime_dependency_of_the_package_transitively() -> None:
    closure = runtime_closure(LOCK)
    assert {"prometheus-client", "pygithub", "fastapi", "uvicorn"} <= set(closure)


def test_the_lock_holds_nothing_the_package_does_not_need_so_the_image_carries_no_test_tools() -> None:
    extra = set(_pins(LOCK)) - set(runtime_closure(LOCK)) - {"system-health-exporter"}
    assert extra == set(), f"not needed at run time, yet installed into the image: {sorted(extra)}"
