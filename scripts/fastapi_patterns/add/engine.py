"""`add`: plan every change in memory, refuse what is unsafe, then diff or write at once.

Nothing touches the disk before every check passed: the app located, the new modules free
to create (or ours and unedited), the wiring placed, the files to patch committed in git
(unless forced). Writing goes through the generator's all-or-nothing `write_files`.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import GeneratorError
from ..write import write_files
from .gitstate import uncommitted
from .locate import Target, locate, module_path
from .notes import http_middleware
from .patterns import PATTERNS, Pattern, expand, render_module
from .record import MANIFEST, generated_by_us, record, recorded_hash
from .refusal import AddRefused
from .wiring import Unsupported, wire

_KNOWN = frozenset(p.wiring.name for p in PATTERNS.values() if p.wiring)


@dataclass
class AddResult:
    app: str
    patterns: list[str]
    dry_run: bool
    created: list[str] = field(default_factory=list)
    patched: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    diff: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def add_patterns(
    root: Path,
    names: list[str],
    *,
    app: str | None = None,
    dry_run: bool = False,
    force: bool = False,
) -> AddResult:
    """Add the named patterns to the app below `root`; raises AddRefused, writing nothing,
    when it cannot do so safely."""
    patterns = expand(names)
    target, warnings = locate(root, app)
    result = AddResult(target.reference, [p.name for p in patterns], dry_run, warnings=warnings)
    changes: dict[str, bytes] = {}
    manifest_rel = _join(target.project_root, MANIFEST)
    manifest = _read(root / manifest_rel)
    if generated_by_us(manifest):
        # A generated project has every pattern built in, wired its own way (a factory
        # reading the environment), which the wiring patch rightly does not recognise.
        result.notes.append(
            f"{manifest_rel} says create-fastapi-app generated this project: "
            f"{', '.join(result.patterns)} {'is' if len(patterns) == 1 else 'are'} part of it"
            " already; nothing to do."
        )
        return result

    modules: dict[str, bytes] = {}
    nothing_to_add: set[str] = set()  # built from the project, which needs none of it
    for pattern in patterns:
        rel = module_path(target, pattern.module)
        if pattern.build is not None:
            built, notes = pattern.build(root, target, rel)
            result.notes += notes
            if built is None:
                nothing_to_add.add(pattern.name)
                continue
            content = modules[rel] = built
        else:
            content = modules[rel] = render_module(pattern, sqlalchemy=target.uses_sqlalchemy)
        existing = _read(root / rel)
        if existing == content:
            result.unchanged.append(rel)
            continue
        if existing is not None:
            ours = recorded_hash(manifest, _from_project(target, rel))
            if ours != hashlib.sha256(existing).hexdigest():
                raise AddRefused(
                    f"{rel} exists and is not the module `add` wrote (or was edited since);"
                    " rename or remove it, then run again. Nothing was written."
                )
        changes[rel] = content
        (result.created if existing is None else result.patched).append(rel)

    source = _read(root / target.file)
    if source is None:
        raise AddRefused(f"{target.file} cannot be read.")
    wirings = [
        (target.import_from(target.qualified(p.module)), p.wiring) for p in patterns if p.wiring
    ]
    try:
        patched = (
            wire(source, target.attr, wirings, _KNOWN, target.top_level_modules)
            if wirings
            else source
        )
    except Unsupported as error:
        raise AddRefused(
            f"Cannot wire {target.reference} in {target.file} safely: {error}. Nothing was"
            " written; add these lines by hand:",
            manual_lines(target, patterns),
        ) from None
    if patched != source:
        _check_insertions_only(target.file, source, patched)
    for pattern in patterns:
        if pattern.transform is not None:  # after the insertions-only check: it rewrites
            patched = _transformed(root, target, pattern, patched)
    if patched != source:
        changes[target.file] = patched
        result.patched.append(target.file)
    else:
        result.unchanged.append(target.file)

    recorded = {_from_project(target, rel): content for rel, content in modules.items()}
    adds_modules = [  # a transform adds no module
        p.name for p in patterns if p.transform is None and p.name not in nothing_to_add
    ]
    new_manifest = record(manifest, adds_modules, recorded) if adds_modules else manifest
    if new_manifest is not None and new_manifest != manifest:
        changes[manifest_rel] = new_manifest
        (result.created if manifest is None else result.patched).append(manifest_rel)
    else:
        result.unchanged.append(manifest_rel)

    if "request-context" in result.patterns:
        result.notes += http_middleware(root, str(PurePosixPath(target.file).parent))

    if not force:
        existing_files = [rel for rel in changes if (root / rel).exists()]
        dirty = uncommitted(root, existing_files)
        if dirty:
            raise AddRefused(
                f"{', '.join(dirty)} {'has' if len(dirty) == 1 else 'have'} uncommitted changes;"
                " commit or stash them first (or pass --force). Nothing was written."
            )
    result.diff = unified_diff(root, changes)
    if not dry_run and changes:
        write_files(root, changes, force=True)
    return result


def _transformed(root: Path, target: Target, pattern: Pattern, source: bytes) -> bytes:
    from .lifespan import LifespanUnsupported, hooks_elsewhere
    from .lifespan import manual_lines as lifespan_lines

    assert pattern.transform is not None
    try:
        changed = pattern.transform(source, target.attr)
    except Unsupported as error:
        lines = error.lines if isinstance(error, LifespanUnsupported) else lifespan_lines([])
        raise AddRefused(
            f"Cannot add {pattern.name} to {target.reference} in {target.file} safely: {error}."
            " Nothing was written; write it by hand:",
            lines,
        ) from None
    elsewhere = hooks_elsewhere(root, str(PurePosixPath(target.file).parent), target.file)
    if changed != source and elsewhere:
        raise AddRefused(
            f"Cannot add {pattern.name} to {target.reference} safely: {', '.join(elsewhere)}"
            " also register event hooks, which FastAPI stops running once the app has a"
            " lifespan; move them into it first. Nothing was written."
        )
    return changed


def manual_lines(target: Target, patterns: list[Pattern]) -> list[str]:
    patterns = [p for p in patterns if p.wiring]
    lines = [f"  # at the top of {target.file}:"]
    for pattern in patterns:
        assert pattern.wiring is not None
        module = target.import_from(target.qualified(pattern.module))
        lines.append(f"  from {module} import {pattern.wiring.name}")
    lines.append("  # right after the app is created (inside its factory, before `return`):")
    for pattern in patterns:
        assert pattern.wiring is not None
        where = "  # after any other add_middleware call" if pattern.wiring.outermost else ""
        lines.append("  " + pattern.wiring.statement.format(app=target.attr) + where)
    modules = ", ".join(module_path(target, p.module) for p in patterns)
    lines.append(f"  # and the modules {modules}, which `add` renders once the app can be wired.")
    return lines


def unified_diff(root: Path, changes: dict[str, bytes]) -> str:
    out: list[str] = []
    for rel, new in sorted(changes.items()):
        old = _read(root / rel)
        old_lines = old.decode("utf-8", "replace").splitlines(keepends=True) if old else []
        new_lines = new.decode("utf-8", "replace").splitlines(keepends=True)
        before = f"a/{rel}" if old is not None else "/dev/null"
        out.extend(difflib.unified_diff(old_lines, new_lines, before, f"b/{rel}"))
    return "".join(line if line.endswith("\n") else line + "\n" for line in out)


def _check_insertions_only(rel: str, old: bytes, new: bytes) -> None:
    # The promise that untouched code stays byte-identical, checked on every run.
    matcher = difflib.SequenceMatcher(None, old.splitlines(True), new.splitlines(True), False)
    if any(tag not in ("equal", "insert") for tag, *_ in matcher.get_opcodes()):
        raise GeneratorError(f"internal error: the patch of {rel} would change existing lines")


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise AddRefused(f"{path} cannot be read: {error.strerror or error}") from None


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _from_project(target: Target, rel: str) -> str:
    prefix = f"{target.project_root}/" if target.project_root else ""
    return rel.removeprefix(prefix)
