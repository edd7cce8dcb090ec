"""What file and folder names say about what they hold, in one place for every answer."""

from __future__ import annotations

import re

from .paths import join
from .tree import Tree

# Path parts that mark code which is not the application itself.
NOT_APP_PARTS = frozenset(
    {
        "tests", "test", "testing", "examples", "example", "docs", "doc", "docs_src",
        "samples", "sample", "tutorial", "tutorials", "benchmarks", "bench", "fixtures",
        "playground", "sandbox", "assets", "templates", "template", "skeleton", "scaffold",
    }
)  # fmt: skip

# Folders that conventionally hold the service, in the order a package is preferred.
SERVICE_FOLDERS = ("backend", "server", "api", "app", "project", "service", "web")

# Folders that hold something beside the service: SDKs and clients, CLIs, lambdas,
# infrastructure and tooling, shared libraries, plugins, vendored code, docs.
SIDE_FOLDERS = frozenset(
    {
        "sdk", "sdks", "cli", "client", "clients", "lambda", "lambdas", "functions", "infra",
        "deploy", "tools", "scripts", "notebooks", "plugins", "contrib", "vendor",
        "third_party", "packages", "libs", "docs", "examples",
    }
)  # fmt: skip

# Files that make a folder a Python project.
PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg", "Pipfile")

DOCKERFILE = re.compile(r"^((Dockerfile|Containerfile)(\..+)?|.+\.(Dockerfile|dockerfile))$")
COMPOSE = re.compile(r"^(docker-)?compose(\.[\w.-]+)?\.ya?ml$")
# Subfolders of a project that often hold its Dockerfiles and compose files.
DEPLOYMENT_FOLDERS = (
    "docker", "deploy", "deployment", "deployments", ".devcontainer", "infra", "ops",
)  # fmt: skip


def is_not_app(rel: str) -> bool:
    """Tests, examples and docs: code that may build apps which are not the project's app."""
    *folders, name = rel.split("/")
    if name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py"):
        return True
    return any(part.lower() in NOT_APP_PARTS for part in folders)


def deployment_files(
    tree: Tree, folders: list[str], pattern: re.Pattern[str]
) -> list[tuple[str, int]]:
    """Files named like `pattern` in each folder and its DEPLOYMENT_FOLDERS, each with the
    position of its folder in `folders` (0 = the nearest)."""
    found: list[tuple[str, int]] = []
    for distance, folder in enumerate(folders):
        subfolders = tree.subfolders.get(folder, ())
        places = [folder] + [join(folder, sub) for sub in DEPLOYMENT_FOLDERS if sub in subfolders]
        for place in places:
            found += [(join(place, n), distance) for n in tree.names(place) if pattern.match(n)]
    return found
