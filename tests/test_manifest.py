import hashlib

from ruamel.yaml import YAML

from factories import make_options
from fastapi_patterns import __version__
from fastapi_patterns.manifest import read_manifest, render_manifest


def test_manifest_records_version_options_and_hashes() -> None:
    files = {"b.py": b"b\n", "a.py": b"a\n"}
    text = render_manifest(make_options(redis=True), files).decode()
    data = read_manifest(text)
    assert data["generator_version"] == __version__
    assert data["options"] == make_options(redis=True).as_dict()
    assert data["files"] == {
        "a.py": hashlib.sha256(b"a\n").hexdigest(),
        "b.py": hashlib.sha256(b"b\n").hexdigest(),
    }
    assert text.startswith("# Written by create-fastapi-app")
    assert text.index("a.py") < text.index("b.py")


def test_manifest_is_deterministic() -> None:
    files = {"x": b"1"}
    assert render_manifest(make_options(), files) == render_manifest(make_options(), files)


def test_manifest_round_trips_with_user_comments() -> None:
    text = render_manifest(make_options(), {"x": b"1"}).decode()
    yaml = YAML()
    data = yaml.load(text)
    data["options"].yaml_add_eol_comment("kept by the user", "db")
    from io import StringIO

    out = StringIO()
    yaml.dump(data, out)
    assert "kept by the user" in out.getvalue()
    assert read_manifest(out.getvalue())["options"] == make_options().as_dict()
