"""The bundle passes both skill validators when placed in a folder named after the skill.

* ``agentskills validate`` from the ``skills-ref`` package (PyPI), run as a subprocess.
* The rules of Anthropic's skill-creator ``quick_validate.py``
  (anthropics/skills, skills/skill-creator/scripts/quick_validate.py), re-implemented
  below because that script is not published as a package.

Each validator is also shown a broken copy, so a validator that accepts anything fails.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SKILL_NAME = "fastapi-advanced-patterns"
AGENTSKILLS = Path(sys.executable).parent / "agentskills"
BUNDLE_PARTS = ["SKILL.md", "references", "assets", "scripts", "LICENSE"]

QUICK_ALLOWED = {"name", "description", "license", "allowed-tools", "metadata", "compatibility"}


def quick_validate(skill_dir: Path) -> tuple[bool, str]:
    """The checks of skill-creator's quick_validate.py, in the same order."""
    skill_md = skill_dir / "SKILL.md"
    if not skill_md.exists():
        return False, "SKILL.md not found"
    content = skill_md.read_text()
    if not content.startswith("---"):
        return False, "No YAML frontmatter found"
    match = re.match(r"^---\n(.*?)\n---", content, re.DOTALL)
    if not match:
        return False, "Invalid frontmatter format"
    try:
        frontmatter = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        return False, f"Invalid YAML in frontmatter: {exc}"
    if not isinstance(frontmatter, dict):
        return False, "Frontmatter must be a YAML dictionary"
    unexpected = set(frontmatter) - QUICK_ALLOWED
    if unexpected:
        return False, f"Unexpected key(s) in SKILL.md frontmatter: {', '.join(sorted(unexpected))}"
    if "name" not in frontmatter:
        return False, "Missing 'name' in frontmatter"
    if "description" not in frontmatter:
        return False, "Missing 'description' in frontmatter"
    name = frontmatter["name"]
    if not isinstance(name, str):
        return False, f"Name must be a string, got {type(name).__name__}"
    name = name.strip()
    if name:
        if not re.match(r"^[a-z0-9-]+$", name):
            return False, f"Name '{name}' should be kebab-case"
        if name.startswith("-") or name.endswith("-") or "--" in name:
            return False, f"Name '{name}' cannot start/end with hyphen or contain '--'"
        if len(name) > 64:
            return False, f"Name is too long ({len(name)} characters). Maximum is 64."
    description = frontmatter["description"]
    if not isinstance(description, str):
        return False, f"Description must be a string, got {type(description).__name__}"
    description = description.strip()
    if description:
        if "<" in description or ">" in description:
            return False, "Description cannot contain angle brackets (< or >)"
        if len(description) > 1024:
            return False, f"Description is too long ({len(description)} characters)."
    if "compatibility" in frontmatter:
        compatibility = frontmatter["compatibility"]
        if not isinstance(compatibility, str):
            return False, f"Compatibility must be a string, got {type(compatibility).__name__}"
        if not compatibility:
            return False, "Compatibility cannot be empty"
        if len(compatibility) > 500:
            return False, f"Compatibility is too long ({len(compatibility)} characters)."
    return True, "Skill is valid!"


def _copy_bundle(destination: Path) -> Path:
    destination.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".ruff_cache")
    for part in BUNDLE_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, destination / part, ignore=ignore)
        elif source.is_file():
            shutil.copy2(source, destination / part)
    return destination


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return _copy_bundle(tmp_path / SKILL_NAME)


def _frontmatter(skill_dir: Path) -> dict[str, object]:
    text = (skill_dir / "SKILL.md").read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---", text, re.DOTALL)
    assert match is not None
    data = yaml.safe_load(match.group(1))
    assert isinstance(data, dict)
    return data


def _rewrite_frontmatter(skill_dir: Path, old: str, new: str) -> None:
    path = skill_dir / "SKILL.md"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _agentskills(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AGENTSKILLS), *args], capture_output=True, text=True, check=False, timeout=60
    )


# ------------------------------------------------------------------------ skills-ref


def test_agentskills_validate_accepts_the_bundle(bundle: Path) -> None:
    result = _agentskills("validate", str(bundle))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid skill" in result.stdout


def test_agentskills_reads_the_same_properties(bundle: Path) -> None:
    result = _agentskills("read-properties", str(bundle))
    assert result.returncode == 0, result.stderr
    properties = json.loads(result.stdout)
    frontmatter = _frontmatter(bundle)
    assert properties["name"] == SKILL_NAME
    assert properties["description"] == frontmatter["description"]


def test_agentskills_rejects_a_folder_with_another_name(tmp_path: Path) -> None:
    wrong = _copy_bundle(tmp_path / "fastapi-patterns")
    result = _agentskills("validate", str(wrong))
    assert result.returncode != 0
    assert "must match skill name" in result.stdout + result.stderr


def test_agentskills_rejects_flow_style_frontmatter(bundle: Path) -> None:
    # strictyaml refuses flow style, which is why the capability list lives in the body.
    _rewrite_frontmatter(bundle, "license: MIT\n", "license: MIT\ntags: [a, b]\n")
    assert _agentskills("validate", str(bundle)).returncode != 0


# ----------------------------------------------------------- quick_validate's rules


def test_quick_validate_accepts_the_bundle(bundle: Path) -> None:
    assert quick_validate(bundle) == (True, "Skill is valid!")


def test_name_equals_folder_and_metadata_is_strings(bundle: Path) -> None:
    frontmatter = _frontmatter(bundle)
    assert frontmatter["name"] == bundle.name == SKILL_NAME
    metadata = frontmatter.get("metadata", {})
    assert isinstance(metadata, dict)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    description = frontmatter["description"]
    assert isinstance(description, str) and "Use when" in description


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("name: fastapi-advanced-patterns", "name: FastAPI_Patterns", "kebab-case"),
        ("name: fastapi-advanced-patterns", "name: fastapi--patterns", "cannot start/end"),
        ("name: fastapi-advanced-patterns", "name: " + "x" * 65, "too long"),
        ('description: "Production', 'description: "Returns <b>bold</b>. Production', "angle"),
        ('description: "Production', 'description: "' + "x" * 1030 + " Production", "too long"),
        ("license: MIT\n", "license: MIT\nversion: 1\n", "Unexpected key(s)"),
        ("compatibility: ", "compatibility: " + "y" * 501 + "  # ", "Compatibility is too"),
    ],
)
def test_quick_validate_rejects_broken_copies(
    bundle: Path, old: str, new: str, message: str
) -> None:
    _rewrite_frontmatter(bundle, old, new)
    valid, reason = quick_validate(bundle)
    assert not valid
    assert message in reason
