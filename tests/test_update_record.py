"""record.py: the manifest after an update keeps what else it held; the pending record."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from fastapi_patterns.add.record import record
from fastapi_patterns.update.errors import UpdateError
from fastapi_patterns.update.record import Pending, load_manifest, updated_manifest

GENERATED = b"""\
# Written by create-fastapi-app; a later version reads it to update this project.
generator: create-fastapi-app
generator_version: 0.1.0
options:
  name: svc
  db: sqlite  # my note on the database
  redis: false
files:
  a.py: aaa
  gone.py: ggg
  mine/extra.py: eee
"""


def test_new_version_options_and_hashes_keep_comments_and_other_entries() -> None:
    existing = record(GENERATED, ["errors"], {"mine/added.py": b"x = 1\n"})
    hashes = {"a.py": "AAA", "new.py": "NNN"}
    text = updated_manifest(
        existing,
        "0.2.0",
        {"db": "postgresql", "redis": True},
        hashes,
        ["a.py", "gone.py", "new.py"],
    )
    data = YAML(typ="safe").load(text)
    assert data["generator_version"] == "0.2.0"
    assert data["options"] == {"name": "svc", "db": "postgresql", "redis": True}
    # The generated files are the target's; `add`'s module and a path of no template stay.
    assert set(data["files"]) == {"a.py", "new.py", "mine/extra.py", "mine/added.py"}
    assert (data["files"]["a.py"], data["files"]["new.py"]) == ("AAA", "NNN")
    assert data["added_patterns"] == ["errors"]
    assert b"# my note on the database" in text
    assert text.startswith(b"# Written by create-fastapi-app")


def test_pending_round_trip() -> None:
    pending = Pending("0.1.0", "0.2.0", {"db": "sqlite"}, {"a.py": "h"}, ["a.py"], ["a.py"])
    assert Pending.load(pending.dump()) == pending
    assert pending.dump().startswith(b"# Written by fastapi-patterns update")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b"generator: fastapi-patterns add\nfiles: {}\n", "not written by create-fastapi-app"),
        (b"generator: create-fastapi-app\noptions: {}\nfiles: {}\n", "generator_version"),
        (b"generator: [unclosed\n", "not valid YAML"),
    ],
)
def test_manifests_update_cannot_read_are_refused(text: bytes, reason: str) -> None:
    with pytest.raises(UpdateError, match=reason):
        load_manifest(text)


def test_a_damaged_pending_record_is_refused() -> None:
    with pytest.raises(UpdateError, match="damaged"):
        Pending.load(b"update_from: 0.1.0\n")
