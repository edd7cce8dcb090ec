"""Read SKILL.md's capability table and route free-text questions to a capability.

SKILL.md carries a fenced ``yaml`` block under its ``## Capabilities`` heading: one entry
per capability with an ``id``, a ``title``, what it ``solves``, its ``reference`` file
and the ``keywords`` people type. :func:`load_skill` parses and checks it;
:func:`route` ranks capabilities for a question.

Scoring is deliberately simple so a result can be explained in one sentence. Question
and keywords are normalised the same way (lower case, words split on punctuation except
``_``, plural ``s`` dropped, a few synonyms such as ``k8s`` -> ``kubernetes`` and
``.env`` -> ``dotenv``). Keywords are then matched against the question's words,
longest keyword first, and every word counts towards at most one keyword. A capability
scores the number of question words its keywords covered, so "readiness probe" (two
words, health checks) outweighs "probe" alone, and "redis pool on shutdown" scores three
for lifespan.

Run ``python scripts/fastapi_patterns/skill.py "how do I close redis on shutdown"`` to
see the ranking for a question.
"""

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "Capability",
    "Match",
    "Skill",
    "SkillFormatError",
    "default_skill_path",
    "load_skill",
    "normalise",
    "parse_skill",
    "route",
]

_HEADING = re.compile(r"^##\s+Capabilities\s*$", re.MULTILINE)
_FENCE_OPEN = re.compile(r"^```ya?ml\s*$", re.MULTILINE)
_FENCE_CLOSE = re.compile(r"^```\s*$", re.MULTILINE)
_FRONTMATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)
_WORD = re.compile(r"[a-z0-9_]+")
_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

# Whole-text rewrites applied before splitting into words.
_TEXT_REWRITES = ((re.compile(r"(?<![a-z0-9_])\.env\b"), " dotenv "),)
# Word-level synonyms; the right-hand side may be several words.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "k8s": ("kubernetes",),
    "kube": ("kubernetes",),
    "db": ("database",),
    "postgres": ("postgresql",),
    "healthcheck": ("health", "check"),
    "healthchecks": ("health", "check"),
    "ids": ("id",),
    "envs": ("env",),
    "env_file": ("env", "file"),
    "authn": ("authentication",),
    "authz": ("authorization",),
    "ndjson": ("json", "lines"),
    "jsonl": ("json", "lines"),
    "websockets": ("websocket",),
}
_NO_PLURAL_ENDINGS = ("ss", "us", "is", "as", "os")


class SkillFormatError(ValueError):
    """SKILL.md or its capability block does not have the expected shape."""


@dataclass(frozen=True, slots=True)
class Capability:
    id: str
    title: str
    solves: str
    reference: str
    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Match:
    capability: Capability
    score: int
    keywords: tuple[str, ...]

    @property
    def id(self) -> str:
        return self.capability.id

    @property
    def reference(self) -> str:
        return self.capability.reference


@dataclass(frozen=True, slots=True)
class Skill:
    name: str
    description: str
    capabilities: tuple[Capability, ...]
    path: Path | None = None

    def capability(self, capability_id: str) -> Capability:
        for capability in self.capabilities:
            if capability.id == capability_id:
                return capability
        known = ", ".join(c.id for c in self.capabilities)
        raise KeyError(f"No capability {capability_id!r}; known capabilities: {known}.")

    def route(self, text: str, *, limit: int | None = None) -> list[Match]:
        return route(text, self.capabilities, limit=limit)


def normalise(text: str) -> tuple[str, ...]:
    """Lower-case words of ``text`` with plurals folded and synonyms expanded."""
    lowered = text.lower()
    for pattern, replacement in _TEXT_REWRITES:
        lowered = pattern.sub(replacement, lowered)
    words: list[str] = []
    for word in _WORD.findall(lowered):
        for expanded in _SYNONYMS.get(word, (word,)):
            words.append(_singular(expanded))
    return tuple(words)


def _singular(word: str) -> str:
    if len(word) <= 3 or word.startswith("_") or word.endswith(_NO_PLURAL_ENDINGS):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s"):
        return word[:-1]
    return word


def route(
    text: str, capabilities: Iterable[Capability], *, limit: int | None = None
) -> list[Match]:
    """Rank capabilities for ``text``; capabilities with no matching keyword are left out.

    Ties are broken by the number of distinct keywords matched, then by the longest single
    keyword, then by the order of the capabilities in SKILL.md.
    """
    ordered = tuple(capabilities)
    words = normalise(text)
    # (word count, capability position, keyword, keyword words), longest keywords first.
    candidates = sorted(
        (
            (len(kw_words), position, keyword, kw_words)
            for position, capability in enumerate(ordered)
            for keyword in capability.keywords
            if (kw_words := normalise(keyword))
        ),
        key=lambda item: (-item[0], item[1]),
    )
    used = [False] * len(words)
    scores = [0] * len(ordered)
    longest = [0] * len(ordered)
    found: list[list[str]] = [[] for _ in ordered]
    for size, position, keyword, kw_words in candidates:
        for start in range(len(words) - size + 1):
            span = range(start, start + size)
            if words[start : start + size] == kw_words and not any(used[i] for i in span):
                for i in span:
                    used[i] = True
                scores[position] += size
                longest[position] = max(longest[position], size)
                if keyword not in found[position]:
                    found[position].append(keyword)
    ranked = sorted(
        (i for i in range(len(ordered)) if scores[i]),
        key=lambda i: (-scores[i], -len(found[i]), -longest[i], i),
    )
    matches = [Match(ordered[i], scores[i], tuple(found[i])) for i in ranked]
    return matches if limit is None else matches[:limit]


def default_skill_path() -> Path:
    """SKILL.md of the bundle this module was loaded from: the source tree's root, or the
    copy an installed wheel carries in the package (.agents/skills/, for library-skills)."""
    here = Path(__file__).resolve().parent
    in_tree = here.parents[1] / "SKILL.md"
    in_wheel = here / ".agents" / "skills" / "fastapi-advanced-patterns" / "SKILL.md"
    return in_tree if in_tree.is_file() or not in_wheel.is_file() else in_wheel


def load_skill(path: Path | str | None = None) -> Skill:
    skill_path = Path(path) if path is not None else default_skill_path()
    try:
        text = skill_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SkillFormatError(f"{skill_path} does not exist; pass the path to SKILL.md.") from None
    return parse_skill(text, path=skill_path)


def parse_skill(text: str, *, path: Path | None = None) -> Skill:
    """Parse SKILL.md text: frontmatter name and description plus the capability block."""
    where = str(path) if path is not None else "SKILL.md"
    front = _FRONTMATTER.match(text)
    if front is None:
        raise SkillFormatError(f"{where} must start with YAML frontmatter between '---' lines.")
    meta = _load_yaml(front.group(1), f"{where} frontmatter")
    if not isinstance(meta, dict):
        raise SkillFormatError(f"{where} frontmatter must be a mapping of keys to values.")
    name = _string(meta, "name", f"{where} frontmatter")
    description = _string(meta, "description", f"{where} frontmatter")
    body = text[front.end() :]
    capabilities = _parse_capabilities(_capability_block(body, where), where)
    return Skill(name=name, description=description, capabilities=capabilities, path=path)


def _capability_block(body: str, where: str) -> str:
    heading = _HEADING.search(body)
    if heading is None:
        raise SkillFormatError(f"{where} has no '## Capabilities' heading.")
    opening = _FENCE_OPEN.search(body, heading.end())
    if opening is None:
        raise SkillFormatError(f"{where}: no ```yaml block follows '## Capabilities'.")
    between = body[heading.end() : opening.start()]
    if re.search(r"^#{1,2}\s", between, re.MULTILINE):
        raise SkillFormatError(
            f"{where}: the ```yaml block must come before the next heading after '## Capabilities'."
        )
    closing = _FENCE_CLOSE.search(body, opening.end())
    if closing is None:
        raise SkillFormatError(f"{where}: the capabilities ```yaml block is never closed.")
    return body[opening.end() : closing.start()]


def _parse_capabilities(block: str, where: str) -> tuple[Capability, ...]:
    data = _load_yaml(block, f"{where} capabilities block")
    if isinstance(data, dict) and "capabilities" in data:
        data = data["capabilities"]
    if not isinstance(data, list) or not data:
        raise SkillFormatError(
            f"{where}: the capabilities block must be a non-empty list under 'capabilities:'."
        )
    capabilities: list[Capability] = []
    owner: dict[tuple[str, ...], tuple[str, str]] = {}
    for index, entry in enumerate(data, start=1):
        context = f"{where}: capability #{index}"
        if not isinstance(entry, dict):
            raise SkillFormatError(f"{context} must be a mapping with id, title and keywords.")
        unknown = set(entry) - {"id", "title", "solves", "reference", "keywords"}
        if unknown:
            raise SkillFormatError(f"{context} has unknown keys: {', '.join(sorted(unknown))}.")
        capability_id = _string(entry, "id", context)
        context = f"{where}: capability {capability_id!r}"
        if not _ID.fullmatch(capability_id):
            raise SkillFormatError(f"{context}: id must be kebab-case (a-z, 0-9 and '-').")
        if any(c.id == capability_id for c in capabilities):
            raise SkillFormatError(f"{context} is declared twice.")
        reference = _string(entry, "reference", context)
        if reference.startswith("/") or ".." in Path(reference).parts:
            raise SkillFormatError(f"{context}: reference must be relative to the skill folder.")
        keywords = _keywords(entry.get("keywords"), context)
        for keyword in keywords:
            words = normalise(keyword)
            if not words:
                raise SkillFormatError(f"{context}: keyword {keyword!r} has no words in it.")
            if words in owner and owner[words][0] != capability_id:
                other, spelled = owner[words]
                raise SkillFormatError(
                    f"{context}: keyword {keyword!r} is also capability {other!r}'s keyword "
                    f"{spelled!r}; a keyword may route to one capability only."
                )
            owner[words] = (capability_id, keyword)
        capabilities.append(
            Capability(
                id=capability_id,
                title=_string(entry, "title", context),
                solves=_string(entry, "solves", context),
                reference=reference,
                keywords=keywords,
            )
        )
    return tuple(capabilities)


def _keywords(value: object, context: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise SkillFormatError(f"{context}: keywords must be a non-empty list.")
    keywords: list[str] = []
    for keyword in value:
        if not isinstance(keyword, str) or not keyword.strip():
            raise SkillFormatError(
                f"{context}: keyword {keyword!r} is not text; quote numbers such as '401'."
            )
        keywords.append(keyword.strip())
    return tuple(keywords)


def _load_yaml(text: str, context: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SkillFormatError(f"{context} is not valid YAML: {exc}") from exc


def _string(mapping: dict[Any, Any], key: str, context: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SkillFormatError(f"{context}: {key!r} must be a non-empty string.")
    return value.strip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Show which capability (and reference file) answers a question."
    )
    parser.add_argument("question", nargs="+", help="the question, as a user would type it")
    parser.add_argument("--skill", type=Path, default=None, help="path to SKILL.md")
    parser.add_argument("--limit", type=int, default=3, help="how many matches to show")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)
    try:
        skill = load_skill(args.skill)
    except SkillFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    matches = skill.route(" ".join(args.question), limit=args.limit)
    if args.json:
        rows = [
            {"id": m.id, "reference": m.reference, "score": m.score, "keywords": list(m.keywords)}
            for m in matches
        ]
        print(json.dumps(rows, indent=2))
    elif not matches:
        print("No capability matched; start from SKILL.md.")
    else:
        for m in matches:
            print(f"{m.id:<14} {m.reference:<28} score {m.score}  ({', '.join(m.keywords)})")
    return 0 if matches else 1


if __name__ == "__main__":
    raise SystemExit(main())
