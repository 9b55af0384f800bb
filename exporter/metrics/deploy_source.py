"""Where a repository's deployments come from (EXPORTER_DEPLOY_SOURCE, EXPORTER_DEPLOY_SOURCES), parsed once
with the settings.

Grammar of one source: `deployments[:ENVIRONMENT]` (GitHub's Deployments API for that environment;
without one, `production`), `workflow:FILE` (runs of that workflow file, or its numeric id, on the
watched branch) or `releases` (published releases, drafts and prereleases left out). The per-repository
overrides are `owner/name=SOURCE` entries, comma-separated, e.g.
`EXPORTER_DEPLOY_SOURCES="octo/api=workflow:deploy.yml, octo/cli=releases"`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BeforeValidator


@dataclass(frozen=True)
class DeploySource:
    """Where a repository's deployments come from: `kind` is "deployments" (GitHub's Deployments API,
    `name` the environment), "workflow" (runs of the workflow file `name` on the branch) or "releases"."""

    kind: Literal["deployments", "workflow", "releases"]
    name: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}" if self.name else self.kind


DEFAULT_DEPLOY_SOURCE = DeploySource("deployments", "production")


_ENVIRONMENT = re.compile(r"^[^\s,=]{1,255}$")  # GitHub allows most characters in an environment name
_WORKFLOW_FILE = re.compile(r"^[A-Za-z0-9._-]+\.ya?ml$|^[0-9]+$")


def parse_deploy_source(text: str) -> DeploySource:
    """`deployments[:ENVIRONMENT]`, `workflow:FILE` or `releases`; a ValueError says what is expected."""
    kind, colon, name = text.strip().partition(":")
    kind, name = kind.strip().casefold(), name.strip()
    if kind == "deployments" and not colon:
        return DeploySource("deployments", "production")
    if kind == "deployments" and _ENVIRONMENT.match(name):
        return DeploySource("deployments", name)
    if kind == "workflow" and _WORKFLOW_FILE.match(name):
        return DeploySource("workflow", name)
    if kind == "releases" and not colon:
        return DeploySource("releases")
    raise ValueError(
        f"{text.strip()!r} is not deployments[:ENVIRONMENT], workflow:FILE (a workflow file name such as "
        "deploy.yml, or its id) or releases"
    )


def parse_overrides(text: str) -> tuple[tuple[str, DeploySource], ...]:
    """`owner/name=SOURCE, ...` (see `parse_deploy_source`); a repository named twice is an error."""
    overrides: list[tuple[str, DeploySource]] = []
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        repo, equals, spec = entry.partition("=")
        repo = repo.strip()
        if not equals or not repo:
            raise ValueError(f"entry {entry!r} is not owner/name=SOURCE")
        if any(seen.casefold() == repo.casefold() for seen, _ in overrides):
            raise ValueError(f"{repo!r} is given a source twice")
        overrides.append((repo, parse_deploy_source(spec)))
    return tuple(overrides)


def overrides_text(overrides: tuple[tuple[str, DeploySource], ...]) -> str:
    return ",".join(f"{repo}={source}" for repo, source in overrides)


DeploySourceSetting = Annotated[
    DeploySource, BeforeValidator(lambda v: parse_deploy_source(v) if isinstance(v, str) else v)
]
DeploySourceOverrides = Annotated[
    tuple[tuple[str, DeploySource], ...],
    BeforeValidator(lambda v: parse_overrides(v) if isinstance(v, str) else v),
]
