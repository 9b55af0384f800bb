"""Extract the response schemas the fake GitHub serves from GitHub's published OpenAPI document.

Runs `npm pack @octokit/openapi@23.0.2` in a temporary directory, reads
`generated/api.github.com.json`, and writes the 200-response (201 for a POST that creates) schemas of the operations the
exporter reads, plus every `#/components/...` they reference, to tests/schemas/github-rest-subset.json.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PACKAGE = "@octokit/openapi@23.0.2"
OPERATIONS = (
    "actions/list-workflow-runs",
    "actions/list-jobs-for-workflow-run",
    "actions/get-workflow",
    "actions/list-repo-workflows",
    "repos/list-commits",
    "repos/get",
    # issue 10: CI flow, pull-request flow and DORA
    "actions/get-workflow-run",
    "actions/get-workflow-run-attempt",
    "actions/list-jobs-for-workflow-run-attempt",
    "pulls/list",
    "repos/list-deployments",
    "repos/list-deployment-statuses",
    "repos/list-releases",
    "repos/compare-commits",
    # GitHub App authentication (exporter/github/app_auth.py).
    "apps/list-installations",
    "apps/get-org-installation",
    "apps/create-installation-access-token",
    # Organisation discovery (exporter/github/discovery.py).
    "repos/list-for-org",
    "repos/list-for-user",
    # The CI workflow's schedule (exporter/schedules.py): its file's `on.schedule` crons.
    "repos/get-content",
)
OUTPUT = Path(__file__).resolve().parent.parent / "tests" / "schemas" / "github-rest-subset.json"


def download_spec() -> dict[str, Any]:
    """Fetch the npm package and return the parsed api.github.com document."""
    with tempfile.TemporaryDirectory() as tmp:
        npm = ["npm", "pack", PACKAGE, "--silent"]
        subprocess.run(npm, cwd=tmp, check=True, capture_output=True)  # noqa: S603 - fixed arguments
        (tarball,) = Path(tmp).glob("*.tgz")
        with tarfile.open(tarball) as archive:
            member = archive.extractfile("package/generated/api.github.com.json")
            if member is None:
                raise RuntimeError(f"{PACKAGE} has no generated/api.github.com.json")
            spec: dict[str, Any] = json.load(member)
            return spec


def refs(node: Any) -> Iterator[str]:
    """Yield every $ref string found anywhere in a JSON node."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(spec: dict[str, Any], pointer: str) -> Any:
    node: Any = spec
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


DOCUMENTATION_KEYS = frozenset({"description", "example", "examples", "externalDocs", "title"})


def strip_documentation(node: Any) -> Any:
    """Drop prose and examples (never a property that happens to be named like them)."""
    if isinstance(node, dict):
        return {
            key: (
                {name: strip_documentation(sub) for name, sub in value.items()}
                if key == "properties"
                else strip_documentation(value)
            )
            for key, value in node.items()
            if key not in DOCUMENTATION_KEYS
        }
    if isinstance(node, list):
        return [strip_documentation(item) for item in node]
    return node


def extract(spec: dict[str, Any]) -> dict[str, Any]:
    """Return {"operations": {id: 200 schema}, "components": {...}} with referenced components only."""
    operations: dict[str, Any] = {}
    for path_item in spec["paths"].values():
        for operation in path_item.values():
            if isinstance(operation, dict) and operation.get("operationId") in OPERATIONS:
                responses = operation["responses"]
                response = responses["200"] if "200" in responses else responses["201"]  # a POST that creates
                if "$ref" in response:
                    response = resolve(spec, response["$ref"])
                operations[operation["operationId"]] = response["content"]["application/json"]["schema"]
    missing = set(OPERATIONS) - operations.keys()
    if missing:
        raise RuntimeError(f"operations not found in {PACKAGE}: {sorted(missing)}")

    components: dict[str, dict[str, Any]] = {}
    pending = [ref for schema in operations.values() for ref in refs(schema)]
    while pending:
        ref = pending.pop()
        _, _, section, name = ref.split("/", 3)
        if name in components.get(section, {}):
            continue
        target = resolve(spec, ref)
        components.setdefault(section, {})[name] = target
        pending.extend(refs(target))
    subset = {
        "openapi": spec["openapi"],
        "source": PACKAGE,
        "operations": operations,
        "components": components,
    }
    return dict(strip_documentation(subset))


def main() -> None:
    subset = extract(download_spec())
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(subset, indent=2, sort_keys=True) + "\n")
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
