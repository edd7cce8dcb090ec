"""`add settings`: a pydantic-settings module for the environment variables the app reads.

One typed field per variable read with a literal name, its default carried over, and the
cached `get_settings()` of references/settings.md. The reads themselves are left alone:
switching them to `get_settings()` changes behaviour (values from `.env`, validation, empty
values falling back to the default), so each is listed for the person to switch. A project
that has a `BaseSettings` class already gets nothing, and a note.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from pathlib import Path

from ..assets import assets_dir
from ..detect.dependencies import collect
from ..detect.tree import Tree
from ..errors import TemplateError
from .envreads import UNKNOWN, EnvRead, ProjectEnvironment, scan
from .locate import Target

TEMPLATE = "add/settings.py.jinja"
LINE_LENGTH = 100
# Names whose values are secrets: SecretStr keeps them out of reprs, logs and tracebacks.
_SECRET = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL", re.I)
# Attributes of pydantic's BaseModel / BaseSettings a field must not shadow.
_RESERVED = frozenset(
    {
        "copy", "dict", "json", "schema", "schema_json", "construct", "validate", "parse_obj",
        "parse_raw", "parse_file", "from_orm", "update_forward_refs", "fields",
        "settings_customise_sources",
    }
)  # fmt: skip
_PROVIDERS = frozenset({"pydantic-settings"})


@dataclass(frozen=True)
class SettingsField:
    name: str
    annotation: str
    default: str | None  # Python source; None: required
    comment: str = ""


def build_module(root: Path, target: Target, rel: str) -> tuple[bytes | None, list[str]]:
    """The settings module to write at `rel` (below `root`) for the project of `target`, and
    the notes; no module when the project has settings already."""
    tree = Tree(root, [])
    found = scan(tree, target.project_root)
    ours = [c for c in found.settings_classes if c.startswith(f"{rel}:")]
    if ours and len(ours) == len(found.settings_classes):
        return None, [f"{rel} holds the settings already; settings added nothing."]
    if found.settings_classes:
        listed = ", ".join(found.settings_classes[:3])
        return None, [
            f"the project has pydantic settings already ({listed}); settings added nothing."
            " references/settings.md shows the cached get_settings() to read them through."
        ]
    fields, notes = fields_for(found)
    package = target.qualified(rel.rsplit("/", 1)[-1].removesuffix(".py"))
    notes = [*_reads_left_alone(found, fields, rel, package), *notes]
    notes += _dependency_note(tree, target.project_root)
    return render(fields), notes


def fields_for(found: ProjectEnvironment) -> tuple[list[SettingsField], list[str]]:
    """One field per variable (pydantic-settings matches names case-insensitively)."""
    by_name: dict[str, list[EnvRead]] = {}
    notes: list[str] = []
    for read in found.reads:
        by_name.setdefault(read.name.lower(), []).append(read)
    fields = []
    for name, reads in sorted(by_name.items()):
        if not _usable(name):
            notes.append(
                f"{reads[0].where}: {reads[0].name} cannot be a field name; declare it by hand,"
                f' e.g. `x: str = Field(validation_alias="{reads[0].name}")`.'
            )
            continue
        settings_field, field_notes = _field(name, reads)
        fields.append(settings_field)
        notes += field_notes
    for where in found.unreadable:
        notes.append(
            f"{where} reads a variable whose name is not a literal; add its field by hand."
        )
    return fields, notes


def _usable(name: str) -> bool:
    return (
        name.isidentifier()
        and not keyword.iskeyword(name)
        and not name.startswith(("_", "model_"))
        and name not in _RESERVED
    )


def _field(name: str, reads: list[EnvRead]) -> tuple[SettingsField, list[str]]:
    notes = []
    spellings = sorted({r.name for r in reads})
    if len(spellings) > 1:
        notes.append(f"{', '.join(spellings)} are one setting, `{name}` (names match in any case).")
    with_default = [r for r in reads if r.default is not None]
    chosen = with_default[0] if with_default else reads[0]
    defaults = {repr(r.default) for r in with_default if r.default is not UNKNOWN}
    if len(defaults) > 1:
        notes.append(
            f"{chosen.name} is read with different defaults ({', '.join(sorted(defaults))});"
            f" the field takes the one at {chosen.where}."
        )
    cast = next((r.cast for r in reads if r.cast), None)
    value = chosen.default
    comment = ""
    if value is UNKNOWN:
        notes.append(
            f"{chosen.where}: the default of {chosen.name} is not a literal; the field defaults"
            " to None: give it the app's default."
        )
        comment = f"The app's default is computed at {chosen.where}: put it here."
        value = None
    if isinstance(value, str) and cast is not None:
        try:
            value = int(value) if cast == "int" else float(value)
        except ValueError:
            cast = None  # the app's own default would fail its cast: keep the text
    kind = type(value).__name__ if isinstance(value, bool | int | float) else (cast or "str")
    secret = kind == "str" and bool(_SECRET.search(name))
    annotation = "SecretStr" if secret else kind
    if value is None:
        required = all(r.required for r in reads) and comment == ""
        if required:
            return SettingsField(name, annotation, None), notes
        return SettingsField(name, f"{annotation} | None", "None", comment), notes
    source = _literal(value)
    if secret:
        notes.append(
            f"{chosen.where}: {chosen.name} has a default in the code; a default secret is a"
            " published one: set it in the environment and drop the default."
        )
        source = f"SecretStr({source})"
    return SettingsField(name, annotation, source, comment), notes


def _literal(value: object) -> str:
    """Python source as `ruff format` writes it: double quotes unless the text has some."""
    text = repr(value)
    if isinstance(value, str) and text.startswith("'") and '"' not in value:
        text = '"' + text[1:-1].replace("\\'", "'") + '"'
    return text


def _reads_left_alone(
    found: ProjectEnvironment, fields: list[SettingsField], module_path: str, package: str
) -> list[str]:
    names = {f.name for f in fields}
    reads = [r for r in found.reads if r.name.lower() in names]
    if not reads:
        return []
    notes = [
        f"{module_path} declares {len(names)} setting{'s' if len(names) != 1 else ''}; the"
        f" {len(reads)} read{'s' if len(reads) != 1 else ''} below were left as they are"
        " (switching changes behaviour: .env values, validation, empty values meaning unset)."
        f" Replace each with the field of `get_settings()` (from {package} import"
        " get_settings) when you are ready:"
    ]
    for read in reads:
        notes.append(f"{read.where}: {read.name} -> get_settings().{read.name.lower()}")
    return notes


def _dependency_note(tree: Tree, project_root: str) -> list[str]:
    dependencies = collect(tree, tree.chain(project_root))
    for dependency in dependencies:
        requirement = dependency.requirement
        if requirement.name in _PROVIDERS or (
            requirement.name == "fastapi" and "all" in requirement.extras
        ):
            return []
    where = sorted({d.source for d in dependencies})
    declared = f" ({', '.join(where)})" if where else ""
    return [
        f"pydantic-settings is not among the project's dependencies{declared}: add"
        " `pydantic-settings>=2.16` to them; add does not edit dependency files."
    ]


def render(fields: list[SettingsField]) -> bytes:
    """The module's source for `fields`."""
    # Imported here: the command parser reads PATTERNS with the standard library alone.
    import jinja2

    from ..render import make_environment

    environment = make_environment(assets_dir())
    context = {
        "fields": [_with_line(f) for f in fields],
        "secrets": any(f.annotation.startswith("SecretStr") for f in fields),
        "required": any(f.default is None for f in fields),
    }
    try:
        text = environment.get_template(TEMPLATE).render(context)
    except jinja2.TemplateError as error:
        raise TemplateError(f"Template {TEMPLATE} failed to render: {error}") from error
    return text.encode("utf-8")


def _with_line(settings_field: SettingsField) -> dict[str, str]:
    """The field's declaration, wrapped in parentheses as `ruff format` does when too long."""
    line = f"    {settings_field.name}: {settings_field.annotation}"
    if settings_field.default is not None:
        line += f" = {settings_field.default}"
        if len(line) > LINE_LENGTH:
            head = f"    {settings_field.name}: {settings_field.annotation} = (\n"
            line = f"{head}        {settings_field.default}\n    )"
    return {"declaration": line, "comment": settings_field.comment}
