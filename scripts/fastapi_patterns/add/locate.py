"""Which app to wire, in which file, and where the new modules go.

The app is the one `--app module:attr` names, else the one a run configuration serves,
else the only one the detector finds in the code (a sub-app another app mounts does not
count). Several candidates without `--app` is a refusal: guessing would patch the wrong
service. Read-only; it never imports the project's code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..detect.apps import find_app
from ..detect.dependencies import collect
from ..detect.entrypoints import Reference, resolve_reference
from ..detect.finder import App, Finder
from ..detect.layout import for_app
from ..detect.paths import join
from ..detect.run_files import AppReference
from ..detect.tree import Tree
from .refusal import AddRefused

_APP_REFERENCE = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):([A-Za-z_]\w*)$")
# Folders a project keeps shared helpers in, in order of preference.
_HELPER_FOLDERS = ("core", "utils")
_SQLALCHEMY = frozenset({"sqlalchemy", "sqlmodel"})


@dataclass(frozen=True)
class Target:
    file: str  # the app's module, POSIX, relative to the folder `add` was given
    module: str  # its dotted name, e.g. app.main
    attr: str  # the app (or factory) name at the module's top level
    project_root: str  # where .create-fastapi-app.yml lives ("" = the given folder)
    modules_dir: str  # the folder new modules go into
    modules_package: str  # its dotted name, e.g. app.core; "" for an app outside a package
    uses_sqlalchemy: bool = False  # a runtime dependency on SQLAlchemy or SQLModel
    # An app outside a package: the project's top-level module names, which its imports of
    # them (and of the new modules beside it) name absolutely.
    top_level_modules: frozenset[str] = frozenset()

    @property
    def reference(self) -> str:
        return f"{self.module}:{self.attr}"

    @property
    def package(self) -> str:
        """The package the app lives in; "" when it is a top-level module."""
        return self.module.split(".")[0] if self.modules_package else ""

    def qualified(self, stem: str) -> str:
        """The dotted name of the new module `stem`."""
        return f"{self.modules_package}.{stem}" if self.modules_package else stem

    def import_from(self, module: str) -> str:
        """`module` (a dotted name in the project) as the app's module imports it: relative
        within a package, absolute from a top-level module (which has no package to be
        relative to)."""
        importer = self.module.split(".")
        if not self.file.endswith("__init__.py"):
            importer = importer[:-1]  # a module's package; a package is its own
        if not importer:
            return module
        parts = module.split(".")
        common = 0
        while common < min(len(importer), len(parts)) and importer[common] == parts[common]:
            common += 1
        return "." * (len(importer) - common + 1) + ".".join(parts[common:])


def locate(root: Path, app_reference: str | None) -> tuple[Target, list[str]]:
    """The app to wire below `root`, and the detector's warnings."""
    warnings: list[str] = []
    tree = Tree(root, warnings)
    app = _named(tree, app_reference) if app_reference else _only_app(tree, warnings)
    layout = for_app(tree, app)
    if not layout.module:
        raise AddRefused(f"{app.file} cannot be imported as a module; name the app with --app.")
    if not layout.package:
        return _top_level(tree, app, layout.import_root, layout.module), warnings
    package_dir = join(layout.import_root, layout.package)
    modules_dir, modules_package = package_dir, layout.package
    for folder in _HELPER_FOLDERS:
        if folder in tree.subfolders.get(package_dir, ()):
            modules_dir, modules_package = join(package_dir, folder), f"{layout.package}.{folder}"
            break
    target = Target(
        file=app.file,
        module=layout.module,
        attr=app.attr,
        project_root=layout.project_root,
        modules_dir=modules_dir,
        modules_package=modules_package,
        uses_sqlalchemy=_uses_sqlalchemy(tree, layout.project_root),
    )
    return target, warnings


def _top_level(tree: Tree, app: App, folder: str, module: str) -> Target:
    """An app in a module outside any package (`main.py` beside `db.py`): the new modules go
    beside it, imported by their top-level names."""
    # Imported here: the patterns' names are all this needs, and patterns imports locate.
    from .patterns import PATTERNS

    names = {n.removesuffix(".py") for n in tree.names(folder) if n.endswith(".py")}
    names |= {pattern.module for pattern in PATTERNS.values()}
    return Target(
        file=app.file,
        module=module,
        attr=app.attr,
        project_root=folder,
        modules_dir=folder,
        modules_package="",
        uses_sqlalchemy=_uses_sqlalchemy(tree, folder),
        top_level_modules=frozenset(names),
    )


def _uses_sqlalchemy(tree: Tree, project_root: str) -> bool:
    return any(
        d.runtime and d.name.lower() in _SQLALCHEMY for d in collect(tree, tree.chain(project_root))
    )


def _named(tree: Tree, reference: str) -> App:
    match = _APP_REFERENCE.match(reference)
    if not match:
        raise AddRefused(
            f"--app {reference!r} is not of the form module:attribute, e.g. app.main:app"
        )
    finder = Finder(tree)
    ref = Reference("--app", AppReference(match.group(1), match.group(2)))
    app = resolve_reference(tree, finder, ref)
    if app is None:
        raise AddRefused(
            f"--app {reference}: no module {match.group(1)} defining {match.group(2)} was found"
            f" below {tree.root}."
        )
    return app


def _only_app(tree: Tree, warnings: list[str]) -> App:
    chosen = find_app(tree, warnings)
    if chosen is None:
        raise AddRefused(f"No FastAPI app was found below {tree.root}; name one with --app.")
    if chosen.via:  # a run configuration serves it
        return chosen
    finder = Finder(tree)
    finder.scan()
    files = sorted({a.file for a in finder.apps() if (a.file, a.attr) not in finder.mounted})
    if len(files) > 1:
        listed = ", ".join(files[:6])
        raise AddRefused(
            f"Found FastAPI apps in several modules ({listed}); name the one to wire with"
            " --app module:attr."
        )
    return chosen


def module_path(target: Target, stem: str) -> str:
    """The POSIX path of a new module `stem` in the target's modules folder."""
    return (
        str(PurePosixPath(target.modules_dir) / f"{stem}.py")
        if target.modules_dir
        else f"{stem}.py"
    )
