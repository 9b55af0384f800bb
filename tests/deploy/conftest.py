"""Fixtures for the deployment tests: real exporter processes, the agent's check, Helm, the linters.

The tools live in venvs of their own (.venv-agent, .venv-deploy; scripts/setup/*.sh make them),
so the tests reach them through subprocesses, as the agent and a CI job would.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from exporter.demo import FakeCommit, FakeGitHub, FakeJob, FakeRepo, FakeRun, Fault
from tests.processes import stop

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHART = ROOT / "helm" / "system-health-exporter"
CONF = ROOT / "datadog-agent-conf" / "conf.d" / "openmetrics.d" / "conf.yaml"
AGENT_PYTHON = ROOT / ".venv-agent" / "bin" / "python"
DEPLOY_BIN = ROOT / ".venv-deploy" / "bin"
START_DEADLINE_SECONDS = 20.0

GOOD = "softmax/good"  # CI passes; 2 hotfixes and 1 revert in the window
BROKEN = "softmax/broken"  # CI failed; its commit list answers 500, so both commit metrics fail


def _tool(path: Path, setup: str) -> Path:
    if not path.exists():
        pytest.fail(f"{path} is missing: run scripts/setup/{setup} (make test does)")
    return path


@pytest.fixture(scope="session")
def agent_python() -> Path:
    """The Python of .venv-agent, which holds datadog-checks-base."""
    return _tool(AGENT_PYTHON, "agent.sh")


@pytest.fixture(scope="session")
def deploy_bin() -> Path:
    """The bin/ of .venv-deploy: helm-python-sdk, kubernetes-validate, checkov, hadolint."""
    return _tool(DEPLOY_BIN / "python", "deploy-tools.sh").parent


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def two_repositories(now: datetime) -> list[FakeRepo]:
    """A healthy repository and one whose CI failed and whose commits cannot be read."""
    recent = now - timedelta(hours=3)
    good_commits = [
        FakeCommit(sha="a" * 40, message="hotfix: restore checkpoint upload", committer_date=recent),
        FakeCommit(sha="b" * 40, message="Fix NaN loss (HOTFIX)", committer_date=recent),
        FakeCommit(sha="c" * 40, message='Revert "Bump torch" (#12)', committer_date=recent),
        FakeCommit(sha="d" * 40, message="Merge pull request #9 from o/hotfix-x", committer_date=recent, parents=2),
        FakeCommit(sha="e" * 40, message="hotfix: too old", committer_date=now - timedelta(days=30)),
        FakeCommit(sha="f" * 40, message="Add replay metrics", committer_date=recent),
    ]
    return [
        FakeRepo(
            GOOD,
            runs=[FakeRun(id=101, conclusion="success", created_at=recent, jobs=[FakeJob("lint"), FakeJob("test")])],
            commits={"main": good_commits},
        ),
        FakeRepo(
            BROKEN,
            runs=[FakeRun(id=201, conclusion="failure", created_at=recent, jobs=[FakeJob("test", "failure")])],
            commits={"main": [FakeCommit(sha="9" * 40, message="hotfix: y", committer_date=recent)]},
        ),
    ]


@pytest.fixture
def deploy_github() -> Iterator[FakeGitHub]:
    """The fake GitHub serving `two_repositories`, stopped after the test."""
    github = FakeGitHub(repos=two_repositories(datetime.now(UTC)))
    github.inject(Fault("status", path_regex=rf"^/repos/{BROKEN}/commits", status=500))
    github.start()
    try:
        yield github
    finally:
        github.stop()


def exporter_env(github: FakeGitHub, **extra: str) -> dict[str, str]:
    """The environment of an exporter process watching both fake repositories."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DD_", "EXPORTER_"))}
    env.update(
        EXPORTER_GITHUB_API_URL=github.url,
        GITHUB_TOKEN="t",
        EXPORTER_REPOS=f"{GOOD},{BROKEN}",
        EXPORTER_BRANCH="main",
        EXPORTER_CI_WORKFLOW="checks.yml",
        EXPORTER_CACHE_TTL_SECONDS="300",
        EXPORTER_SCRAPE_WAIT_SECONDS="5",
        EXPORTER_GITHUB_RETRIES="0",
    )
    env.update(extra)
    return env


@dataclass
class ExporterProcess:
    """`python -m exporter serve` as a real process on loopback."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ExporterProcess:
        command = [sys.executable, "-m", "exporter", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(
            command, env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"exporter exited with {self.process.returncode}: {self._stderr()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)  # polling with a deadline, not a timed assertion
        self.stop()
        raise RuntimeError(f"exporter did not answer /healthz within {START_DEADLINE_SECONDS}s")

    def _stderr(self) -> str:
        assert self.process is not None and self.process.stderr is not None
        return self.process.stderr.read().decode(errors="replace")[-2000:]

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)

    def rss_kib(self) -> int:
        """Resident set size of the process now, from /proc."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS line")


@pytest.fixture
def exporters() -> Iterator[list[ExporterProcess]]:
    """Exporter processes the test starts; every one is stopped after the test."""
    started: list[ExporterProcess] = []
    try:
        yield started
    finally:
        for exporter in started:
            exporter.stop()


@pytest.fixture
def start_exporter(exporters: list[ExporterProcess]) -> Any:
    """Start an exporter with an environment (and optionally a port); it is stopped after the test."""

    def start(env: dict[str, str], port: int | None = None) -> ExporterProcess:
        exporter = ExporterProcess(env) if port is None else ExporterProcess(env, port)
        exporters.append(exporter)
        return exporter.start()

    return start


class AgentCheck:
    """The agent's OpenMetrics V2 check for one instance, alive across runs, in .venv-agent."""

    def __init__(
        self, agent_python: Path, init_config: Mapping[str, Any] | None, instance: Mapping[str, Any], workdir: Path
    ) -> None:
        workdir.mkdir(exist_ok=True)
        config = workdir / "check.json"
        config.write_text(json.dumps({"init_config": init_config or {}, "instance": instance}))
        env = {key: value for key, value in os.environ.items() if not key.startswith(("DD_", "PYTHON"))}
        self.process = subprocess.Popen(
            [str(agent_python), str(HERE / "agent_driver.py"), str(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )

    def run(self) -> dict[str, Any]:
        """One run of the check: {"error": str, "metrics": [...], "service_checks": [...]}."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the agent driver died: {self.process.stderr.read() if self.process.stderr else ''}")
        result: dict[str, Any] = json.loads(line)
        return result

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)  # it ends by itself once its stdin closes
        stop(self.process)


@pytest.fixture
def agent_check(agent_python: Path, tmp_path: Path) -> Iterator[Any]:
    """Make agent checks for instances; each driver process is ended after the test."""
    checks: list[AgentCheck] = []

    def make(instance: Mapping[str, Any], init_config: Mapping[str, Any] | None = None) -> AgentCheck:
        check = AgentCheck(agent_python, init_config, instance, tmp_path / f"check{len(checks)}")
        checks.append(check)
        return check

    try:
        yield make
    finally:
        for check in checks:
            check.close()


def shipped_conf() -> dict[str, Any]:
    """The conf.d file exactly as shipped."""
    conf: dict[str, Any] = yaml.safe_load(CONF.read_text())
    return conf


def render_chart(deploy_bin: Path, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Render the chart with Helm's own engine (helm-python-sdk) and parse the manifests."""
    script = (
        "import json, sys, helm_python as h\n"
        "out = h.Chart.load(sys.argv[1]).render(values=json.load(sys.stdin), name='she', namespace='observability')\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [str(deploy_bin / "python"), "-c", script, str(CHART)],
        input=json.dumps(values),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    rendered: dict[str, str] = json.loads(done.stdout)
    return [doc for text in rendered.values() for doc in yaml.safe_load_all(text) if doc]


FULL_VALUES: dict[str, Any] = {
    "image": {
        "repository": "123456789012.dkr.ecr.us-east-1.amazonaws.com/system-health-exporter",
        "digest": "sha256:" + "ab" * 32,
    },
    "imagePullSecrets": [{"name": "ecr"}],
    "fullnameOverride": "system-health",
    "config": {
        "EXPORTER_REPOS": f"{GOOD},{BROKEN}",
        "EXPORTER_CI_REQUIRED_JOBS": "lint,test",
        "EXPORTER_LOOKBACK_DAYS": "14",
        "EXPORTER_LOG_LEVEL": "DEBUG",
        "EXPORTER_GITHUB_RETRIES": "0",
    },
    "githubToken": {"existingSecret": "github-dashboard", "existingSecretKey": "token"},
    "aws": {"region": "us-east-1"},
    "datadog": {"service": "system-health", "env": "production", "version": "1.4.0"},
    "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/she"}},
    "networkPolicy": {"ingressFrom": [{"namespaceSelector": {"matchLabels": {"name": "datadog"}}}]},
    "podAnnotations": {"team": "infra"},
    "podLabels": {"team": "infra"},
    "extraEnv": [{"name": "EXTRA", "value": "1"}],
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "infra", "effect": "NoSchedule"}],
    "affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]}
                ]
            }
        }
    },
}


@pytest.fixture(scope="session")
def default_manifests(deploy_bin: Path) -> list[dict[str, Any]]:
    """The chart rendered with its default values."""
    return render_chart(deploy_bin, {})


@pytest.fixture(scope="session")
def full_manifests(deploy_bin: Path) -> list[dict[str, Any]]:
    """The chart rendered with every value set."""
    return render_chart(deploy_bin, FULL_VALUES)


def kind(manifests: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The one manifest of a kind."""
    (found,) = [doc for doc in manifests if doc["kind"] == name]
    return found


def container(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    """The exporter container of the rendered Deployment."""
    (only,) = kind(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    found: dict[str, Any] = only
    return found
