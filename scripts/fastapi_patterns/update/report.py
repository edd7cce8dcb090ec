"""How an update is shown: a per-file report and diffs (text), or one JSON object."""

from __future__ import annotations

import difflib
from collections import Counter
from typing import TYPE_CHECKING, Any

from .plan import WRITES, Action
from .record import PENDING

CONTINUE = "fastapi-patterns update --continue"
# The report's order: what changes first, what needs the user last.
_ORDER = [
    Action.UPDATED, Action.MERGED, Action.CREATED, Action.REMOVED, Action.KEPT,
    Action.DELETED, Action.PROTECTED, Action.REVIEW, Action.CONFLICT,
]  # fmt: skip

if TYPE_CHECKING:
    from .engine import UpdateResult


def diff(result: UpdateResult) -> str:
    """Unified diffs of every file the update writes or removes (disk -> result)."""
    chunks: list[str] = []
    for change in result.changes:
        if change.action not in WRITES and change.action is not Action.REMOVED:
            continue
        before = result.ours.get(change.path) or b""
        after = change.content or b""
        chunks += difflib.unified_diff(
            before.decode(errors="replace").splitlines(keepends=True),
            after.decode(errors="replace").splitlines(keepends=True),
            f"a/{change.path}" if result.ours.get(change.path) is not None else "/dev/null",
            f"b/{change.path}" if change.action is not Action.REMOVED else "/dev/null",
        )
    return "".join(line if line.endswith("\n") else line + "\n" for line in chunks)


def text_report(result: UpdateResult) -> str:
    lines = [_headline(result)]
    for key, (old, new) in result.option_changes.items():
        lines.append(f"  option    {key}: {old} -> {new}")
    ordered = sorted(result.changes, key=lambda c: (_ORDER.index(c.action), c.path))
    for change in ordered:
        note = f" ({change.note})" if change.note else ""
        lines.append(f"  {change.action.value:<9} {change.path}{note}")
    counts = Counter(c.action.value for c in result.changes)
    if result.changes:
        totals = [f"{counts[a.value]} {a.value}" for a in _ORDER if counts[a.value]]
        lines.append("Summary: " + ", ".join(totals))
    lines += [f"warning: {warning}" for warning in result.warnings]
    if result.conflicts and not result.dry_run:
        lines.append(
            f"Resolve the conflict markers in {', '.join(result.conflicts)} (your side, the"
            f" base and the template's side are labelled), run the tests, then `{CONTINUE}`;"
            f" the manifest records the new version only then ({PENDING} holds it until then)."
        )
    return "\n".join(lines) + "\n"


def json_report(result: UpdateResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "project": str(result.root),
        "from_version": result.from_version,
        "to_version": result.to_version,
        "status": _status(result),
        "dry_run": result.dry_run,
        "options": {k: {"from": old, "to": new} for k, (old, new) in result.option_changes.items()},
        "files": [
            {"path": c.path, "action": c.action.value, "note": c.note, "conflicts": c.conflicts}
            for c in result.changes
        ],
        "conflicts": result.conflicts,
        "warnings": result.warnings,
    }
    if result.dry_run:
        data["diff"] = diff(result)
    return data


def _status(result: UpdateResult) -> str:
    if result.continued:
        return "continued"
    if result.up_to_date:
        return "up-to-date"
    if result.conflicts:
        return "would-conflict" if result.dry_run else "conflicts"
    return "would-update" if result.dry_run else "updated"


def _headline(result: UpdateResult) -> str:
    if result.continued:
        return (
            f"Recorded the update from {result.from_version} to {result.to_version}:"
            " every conflict is resolved."
        )
    if result.up_to_date:
        return f"Already at version {result.to_version} with these options; nothing to do."
    verb = "Would update" if result.dry_run else "Updated"
    if result.conflicts and not result.dry_run:
        verb = "Updated, with conflicts,"
    tail = " (dry run: nothing written)" if result.dry_run else ""
    return f"{verb} {result.root} from {result.from_version} to {result.to_version}{tail}"
