"""Pure planning: options + the template listing -> every file the project gets, in order.

The template tree (assets/project/) mirrors the generated project. A file's path there
says how it becomes a file of the project:

- `NAME.jinja` is a Jinja template, rendered to NAME. Any other file is copied byte for
  byte. A file carries the suffix exactly when it holds Jinja syntax (tests check it).
- `NAME.TAG.jinja` (or `NAME.TAG` for a copied file), where TAG is one of `_VARIANTS`,
  is one variant of NAME, used when the tag's condition holds: `services/items.py.db.jinja`
  is items.py for a project with a database, `services/items.py.nodb.jinja` the one
  without; `__main__.py.granian.jinja` is the entry point of a project served by granian.
  Each variant reads as the module it produces instead of two modules behind one
  `{% if %}`; the variants of one file must exclude each other (planning refuses two
  files for one target).
- `__package__` stands for the import package, which moves under `src/` in the src
  layout; `dot-NAME` is `.NAME`, so dotfiles stay visible in the tree.
- Which optional files a project gets is decided in `_RULES`, by the path without its
  suffix and tag, never by a template that renders empty.

The manifest is planned last, because it records the hashes of every other file.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from .errors import TemplateError
from .options import GRANIAN, UVICORN, Options

PACKAGE_DIR = "__package__"
TEMPLATE_SUFFIX = ".jinja"
DOT_PREFIX = "dot-"
MANIFEST = ".create-fastapi-app.yml"

Condition = Callable[[Options], bool]

# Variant tag -> when that variant is the file.
_VARIANTS: dict[str, Condition] = {
    "db": lambda o: o.has_db,
    "nodb": lambda o: not o.has_db,
    "uvicorn": lambda o: o.server == UVICORN,
    "granian": lambda o: o.server == GRANIAN,
}

# Path in the template tree without suffix and tag (or a folder, ending in "/") -> when
# the project has it.
_RULES: dict[str, Condition] = {
    "__package__/db.py": lambda o: o.has_db,
    "__package__/models.py": lambda o: o.has_db,
    "alembic.ini": lambda o: o.has_db,
    "migrations/": lambda o: o.has_db,
    "tests/test_migrations.py": lambda o: o.has_db,
    "tests/test_db.py": lambda o: o.has_db,
    "__package__/core/security.py": lambda o: o.has_jwt,
    "__package__/core/expiring.py": lambda o: o.has_jwt,
    "__package__/api/routes/auth.py": lambda o: o.has_jwt,
    "__package__/api/routes/users.py": lambda o: o.has_jwt,
    "__package__/services/users.py": lambda o: o.has_jwt,
    "tests/test_auth.py": lambda o: o.has_jwt,
    "tests/test_users.py": lambda o: o.has_jwt,
    "tests/test_security.py": lambda o: o.has_jwt,
    "tests/test_expiring.py": lambda o: o.has_jwt,
    "__package__/services/cache.py": lambda o: o.redis,
    "tests/test_cache.py": lambda o: o.redis,
}


class Kind(enum.Enum):
    TEMPLATE = "template"  # rendered with Jinja
    COPY = "copy"  # copied byte for byte
    MANIFEST = "manifest"  # the record of every other file


@dataclass(frozen=True)
class PlannedFile:
    template: str | None  # POSIX path relative to the template root; None: the manifest
    target: str  # POSIX path relative to the generated project
    kind: Kind


def source_name(template: str) -> tuple[str, str | None]:
    """A template's path without its `.jinja` suffix and variant tag, and the tag."""
    path = template.removesuffix(TEMPLATE_SUFFIX)
    stem, _, tag = path.rpartition(".")
    if stem and "/" not in tag and tag in _VARIANTS:
        return stem, tag
    return path, None


def included(template: str, options: Options) -> bool:
    path, tag = source_name(template)
    if tag is not None and not _VARIANTS[tag](options):
        return False
    for pattern, condition in _RULES.items():
        matches = path.startswith(pattern) if pattern.endswith("/") else path == pattern
        if matches and not condition(options):
            return False
    return True


def target_path(template: str, options: Options) -> str:
    parts = []
    for part in PurePosixPath(source_name(template)[0]).parts:
        if part == PACKAGE_DIR:
            part = options.package
        elif part.startswith(DOT_PREFIX):
            part = "." + part.removeprefix(DOT_PREFIX)
        parts.append(part)
    if parts[0] == options.package and options.layout == "src":
        parts.insert(0, "src")
    return "/".join(parts)


def plan(options: Options, templates: Iterable[str]) -> list[PlannedFile]:
    """The project's files from the template tree's listing (`assets.template_files`):
    sorted by target, then the manifest."""
    planned = sorted(
        (
            PlannedFile(
                template,
                target_path(template, options),
                Kind.TEMPLATE if template.endswith(TEMPLATE_SUFFIX) else Kind.COPY,
            )
            for template in templates
            if included(template, options)
        ),
        key=lambda p: p.target,
    )
    targets = [p.target for p in planned]
    if len(set(targets)) != len(targets) or MANIFEST in targets:
        raise TemplateError("Two templates map to the same generated file; fix the template tree.")
    return [*planned, PlannedFile(None, MANIFEST, Kind.MANIFEST)]
