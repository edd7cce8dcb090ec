"""SKILL.md's capability table: parsing, keyword routing and real user phrasings."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fastapi_patterns.skill import (
    Capability,
    SkillFormatError,
    default_skill_path,
    load_skill,
    normalise,
    parse_skill,
    route,
)

ROOT = Path(__file__).resolve().parents[1]
SKILL_MD = ROOT / "SKILL.md"
SKILL = load_skill(SKILL_MD)
EXPECTED_IDS = [
    "lifespan",
    "dependencies",
    "middleware",
    "settings",
    "errors",
    "responses",
    "health-checks",
    "auth",
    "testing",
    "deployment",
    "anti-patterns",
    "existing-apps",
    "migrations",
    "hardening",
    "backpressure",
    "observability",
    "websockets",
]

# Questions as people type them, with the capability that must come first.
PHRASINGS = [
    ("how do I close my redis pool on shutdown", "lifespan"),
    ("@app.on_event('startup') is deprecated, what replaces it", "lifespan"),
    ("where should I create the SQLAlchemy engine", "lifespan"),
    ("share one http client across all requests", "lifespan"),
    ("redis.close() deprecation warning", "lifespan"),
    ("pool_size TypeError with StaticPool for sqlite in memory", "lifespan"),
    ("app fails to start when postgres is unreachable, add a startup check", "lifespan"),
    ("get a database session per request with Depends", "dependencies"),
    ("commit or rollback the session automatically", "dependencies"),
    ("my service class constructor is never called", "dependencies"),
    ("Annotated type alias for dependency injection", "dependencies"),
    ("yield dependency cleanup runs after the response", "dependencies"),
    ("how to access the Request object inside a dependency", "dependencies"),
    ("add a request id to every response", "middleware"),
    ("log every request as JSON with structlog", "middleware"),
    ("BaseHTTPMiddleware is slow", "middleware"),
    ("configure CORS for my React frontend", "middleware"),
    ("X-Response-Time header", "middleware"),
    ("access logs appear twice", "middleware"),
    ("correlation id in logs", "middleware"),
    ("load settings from a .env file", "settings"),
    ("pydantic BaseSettings class Config deprecated", "settings"),
    ("where do I keep the JWT secret key", "settings"),
    ("DATABASE_URL starts with postgres:// and asyncpg fails", "settings"),
    ("read environment variables in fastapi", "settings"),
    ("return RFC 7807 problem details for errors", "errors"),
    ("custom exception handler for HTTPException", "errors"),
    ("unique constraint violation should return 409", "errors"),
    ("hide stack traces in 500 responses", "errors"),
    ("format pydantic validation errors as 422", "errors"),
    ("application/problem+json responses", "errors"),
    ("is ORJSONResponse still faster", "responses"),
    ("stream a large export as NDJSON without loading everything in memory", "responses"),
    ("server-sent events endpoint", "responses"),
    ("response_model vs return type annotation", "responses"),
    ("default_response_class ORJSON", "responses"),
    ("k8s readiness probe for fastapi", "health-checks"),
    ("liveness vs readiness endpoint", "health-checks"),
    ("health check returns 200 even when the database is down", "health-checks"),
    ("healthcheck endpoint for my service", "health-checks"),
    ("return 503 when redis down", "health-checks"),
    ("JWT bearer authentication with refresh tokens", "auth"),
    ("hash passwords with argon2 instead of passlib", "auth"),
    ("return 403 for non-admin users", "auth"),
    ("missing WWW-Authenticate header on 401", "auth"),
    ("login endpoint that returns an access token", "auth"),
    ("how to test fastapi with pytest and httpx AsyncClient", "testing"),
    ("override get_settings in tests", "testing"),
    ("lifespan not running in tests", "testing"),
    ("use fakeredis in my tests", "testing"),
    ("run multiple uvicorn workers", "deployment"),
    ("gunicorn vs granian for production", "deployment"),
    ("multi-stage Dockerfile running as non-root", "deployment"),
    ("scale out behind a load balancer", "deployment"),
    ("docker healthcheck for my api", "deployment"),
    ("graceful shutdown on SIGTERM in kubernetes", "deployment"),
    ("what mistakes should I avoid in fastapi", "anti-patterns"),
    ("review my fastapi code for anti-patterns", "anti-patterns"),
    ("def init instead of __init__ in my service", "anti-patterns"),
    ("upgrade legacy fastapi code", "anti-patterns"),
    ("add the patterns to my existing fastapi app", "existing-apps"),
    ("fastapi-patterns add settings --dry-run", "existing-apps"),
    ("how do I remove a pattern that add put in", "existing-apps"),
    ("alembic autogenerate", "migrations"),
    ("rate limit login with redis", "hardening"),
    ("postgres statement timeout", "backpressure"),
    ("add tracing to fastapi", "observability"),
    ("how to authenticate a websocket", "websockets"),
]


# ----------------------------------------------------------------------------- parsing


def test_skill_md_parses_with_the_expected_capabilities() -> None:
    assert SKILL.name == "fastapi-advanced-patterns"
    assert "Use when" in SKILL.description
    assert [c.id for c in SKILL.capabilities] == EXPECTED_IDS


def test_default_path_is_the_bundle_skill_md() -> None:
    assert default_skill_path() == SKILL_MD
    assert load_skill().capabilities == SKILL.capabilities


@pytest.mark.parametrize("capability", SKILL.capabilities, ids=lambda c: c.id)
def test_capability_points_at_its_own_reference(capability: Capability) -> None:
    assert capability.reference == f"references/{capability.id}.md"
    assert (ROOT / capability.reference).is_file()
    assert capability.title and capability.solves
    assert len(capability.keywords) >= 10


def test_every_reference_file_belongs_to_a_capability() -> None:
    on_disk = {p.relative_to(ROOT).as_posix() for p in (ROOT / "references").glob("*.md")}
    assert on_disk == {c.reference for c in SKILL.capabilities}


def test_body_has_one_read_when_line_per_capability() -> None:
    body = SKILL_MD.read_text(encoding="utf-8")
    for capability in SKILL.capabilities:
        ref = re.escape(capability.reference)
        pattern = rf"^- Read \[{ref}\]\({ref}\) when "
        assert len(re.findall(pattern, body, re.MULTILINE)) == 1, capability.id


def test_body_is_under_500_lines() -> None:
    text = SKILL_MD.read_text(encoding="utf-8")
    body = text.split("\n---\n", 1)[1]
    assert len(body.splitlines()) < 500


# ----------------------------------------------------------------------------- routing


@pytest.mark.parametrize("capability", SKILL.capabilities, ids=lambda c: c.id)
def test_every_keyword_routes_to_its_capability(capability: Capability) -> None:
    wrong = []
    for keyword in capability.keywords:
        matches = SKILL.route(keyword)
        tied = len(matches) > 1 and matches[1].score == matches[0].score
        if not matches or matches[0].id != capability.id or tied:
            wrong.append((keyword, [(m.id, m.score) for m in matches]))
    assert wrong == []


@pytest.mark.parametrize(("question", "expected"), PHRASINGS)
def test_phrasing_routes_to_capability_and_reference(question: str, expected: str) -> None:
    matches = SKILL.route(question)
    assert matches, f"nothing matched {question!r}"
    assert matches[0].id == expected, [(m.id, m.score, m.keywords) for m in matches]
    assert matches[0].reference == f"references/{expected}.md"
    assert (ROOT / matches[0].reference).is_file()


def test_phrasings_cover_every_capability() -> None:
    assert len(PHRASINGS) >= 40
    assert {expected for _, expected in PHRASINGS} == set(EXPECTED_IDS)


def test_longer_keyword_outweighs_its_parts() -> None:
    ranked = SKILL.route("k8s readiness probe")
    assert [m.id for m in ranked[:2]] == ["health-checks", "deployment"]
    assert ranked[0].keywords == ("readiness probe",)  # "probe" was not counted twice
    assert ranked[0].score == 2 and ranked[1].score == 1


def test_match_explains_itself() -> None:
    top = SKILL.route("how do I close my redis pool on shutdown")[0]
    assert top.id == "lifespan"
    assert set(top.keywords) == {"redis pool", "on shutdown"}
    assert top.score == 4


def test_unrelated_text_matches_nothing() -> None:
    assert SKILL.route("bake a sourdough loaf") == []
    assert SKILL.route("") == []


def test_limit() -> None:
    question = "docker kubernetes readiness jwt pytest cors"
    assert len(SKILL.route(question)) > 2
    assert len(SKILL.route(question, limit=2)) == 2


def test_ties_follow_declaration_order() -> None:
    first = Capability("first", "t", "s", "references/first.md", ("alpha",))
    second = Capability("second", "t", "s", "references/second.md", ("beta",))
    assert [m.id for m in route("beta alpha", [first, second])] == ["first", "second"]
    assert [m.id for m in route("beta alpha", [second, first])] == ["second", "first"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Health Checks", ("health", "check")),
        ("healthcheck", ("health", "check")),
        ("k8s probes", ("kubernete", "probe")),  # plural folding applies to both sides
        ("my .env file", ("my", "dotenv", "file")),
        ("env vars", ("env", "var")),
        ("dependencies", ("dependency",)),
        ("@app.on_event", ("app", "on_event")),
        ("x-request-id", ("x", "request", "id")),
        ("request ids", ("request", "id")),
        ("redis status", ("redis", "status")),
        ("NDJSON", ("json", "line")),
    ],
)
def test_normalise(text: str, words: tuple[str, ...]) -> None:
    assert normalise(text) == words


# --------------------------------------------------------------------- format errors

FRONT = "---\nname: demo\ndescription: Demo skill. Use when testing.\n---\n"


def _skill(block: str, heading: str = "## Capabilities") -> str:
    return f"{FRONT}\n# Demo\n\n{heading}\n\n```yaml\n{block}```\n"


GOOD_ENTRY = "  - id: one\n    title: One\n    solves: Things.\n    reference: references/one.md\n"


def test_minimal_skill_parses() -> None:
    skill = parse_skill(_skill("capabilities:\n" + GOOD_ENTRY + "    keywords: [alpha, beta]\n"))
    assert skill.name == "demo"
    assert skill.route("beta")[0].id == "one"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# no frontmatter\n", "must start with YAML frontmatter"),
        (FRONT + "\n## Other\n", "no '## Capabilities' heading"),
        (FRONT + "\n## Capabilities\n\ntext only\n", "no ```yaml block"),
        (
            FRONT + "\n## Capabilities\n\n## Next\n\n```yaml\n- id: x\n```\n",
            "must come before the next heading",
        ),
        (_skill("capabilities: []\n"), "non-empty list"),
        (_skill("capabilities:\n" + GOOD_ENTRY + "    keywords: [alpha, 401]\n"), "quote"),
        (_skill("capabilities:\n" + GOOD_ENTRY + "    keywords: []\n"), "non-empty list"),
        (
            _skill("capabilities:\n" + GOOD_ENTRY + "    keywords: [a]\n    extra: 1\n"),
            "unknown keys: extra",
        ),
        (
            _skill(
                "capabilities:\n"
                + GOOD_ENTRY.replace("id: one", "id: One_1")
                + "    keywords: [a]\n"
            ),
            "kebab-case",
        ),
        (
            _skill(
                "capabilities:\n"
                + GOOD_ENTRY.replace("references/one.md", "../one.md")
                + "    keywords: [a]\n"
            ),
            "relative to the skill folder",
        ),
        (_skill("capabilities:\n  - id: one\n    keywords: [a]\n"), "'reference' must be"),
        (_skill("capabilities: [unclosed\n"), "not valid YAML"),
    ],
)
def test_format_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(SkillFormatError, match=re.escape(message)):
        parse_skill(text)


def test_keyword_shared_by_two_capabilities_is_refused() -> None:
    second = GOOD_ENTRY.replace("id: one", "id: two").replace("one.md", "two.md")
    block = (
        "capabilities:\n"
        + GOOD_ENTRY
        + "    keywords: [Health Checks]\n"
        + second
        + "    keywords: [healthcheck]\n"
    )
    with pytest.raises(SkillFormatError) as caught:
        parse_skill(_skill(block))
    assert "'healthcheck'" in str(caught.value) and "'one'" in str(caught.value)


def test_duplicate_capability_id_is_refused() -> None:
    block = "capabilities:\n" + (GOOD_ENTRY + "    keywords: [a]\n") * 2
    with pytest.raises(SkillFormatError, match="declared twice"):
        parse_skill(_skill(block))


def test_missing_file_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(SkillFormatError, match="does not exist"):
        load_skill(tmp_path / "SKILL.md")


# ---------------------------------------------------------------------------------- CLI


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    script = ROOT / "scripts" / "fastapi_patterns" / "skill.py"
    return subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, check=False
    )


def test_cli_prints_ranked_capabilities() -> None:
    result = _cli("k8s", "readiness", "probe")
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.split()[:2] == ["health-checks", "references/health-checks.md"]


def test_cli_json_and_no_match() -> None:
    result = _cli("--json", "close redis on shutdown")
    rows = json.loads(result.stdout)
    assert rows[0]["id"] == "lifespan" and rows[0]["reference"] == "references/lifespan.md"
    assert _cli("sourdough").returncode == 1


# -------------------------------------------------------------------------------- lint


def test_skill_module_is_ruff_and_mypy_strict_clean() -> None:
    module = ROOT / "scripts" / "fastapi_patterns" / "skill.py"
    bin_dir = Path(sys.executable).parent
    ruff = subprocess.run(
        [str(bin_dir / "ruff"), "check", "--no-cache", str(module)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert ruff.returncode == 0, ruff.stdout
    mypy = subprocess.run(
        [str(bin_dir / "mypy"), "--strict", str(module)],  # strict is also the project setting
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert mypy.returncode == 0, mypy.stdout
