"""Code from the references, for the tests that check it against real servers.

`block(doc, defining=name)` returns the Python block of references/<doc> that defines
`name`, `load(...)` executes it as a module, and `served(...)` writes an app module and
serves it under a real uvicorn (tests/service.py), with extra uvicorn flags.
"""

from __future__ import annotations

import re
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

from service import Service, base_env
from test_references import ROOT, parse_blocks

# Seconds a reference test waits for a server to reach the state it polls for.
WAIT_LIMIT = 30.0


def wait_until(condition: Callable[[], bool], what: str, limit: float = WAIT_LIMIT) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)  # polling a condition, bounded by the deadline


def blocks(doc: str, lang: str) -> list[str]:
    return [b.code for b in parse_blocks(ROOT / "references" / doc)[0] if b.lang == lang]


def block(doc: str, *, defining: str) -> str:
    """The one Python block of `doc` that defines `defining` at top level."""
    pattern = re.compile(rf"^(?:async def|def|class) {re.escape(defining)}\b", re.MULTILINE)
    found = [code for code in blocks(doc, "python") if pattern.search(code)]
    assert len(found) == 1, f"{doc}: {len(found)} blocks define {defining}"
    return found[0]


def runnable_example(doc: str, *, defining: str) -> str:
    """The complete example of `doc` (after `<!-- example: run -->`) that defines `defining`."""
    examples = [b.code for b in parse_blocks(ROOT / "references" / doc)[0] if b.run]
    found = [
        code
        for code in examples
        if re.search(rf"^class {defining}\b|^def {defining}\b", code, re.MULTILINE)
    ]
    assert len(found) == 1, f"{doc}: {len(found)} complete examples define {defining}"
    return found[0]


def load(doc: str, *, defining: str, name: str) -> types.ModuleType:
    """Execute the block as a module named `name` (so its classes pickle and type-check)."""
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(block(doc, defining=defining), f"{doc}:{defining}", "exec"), module.__dict__)
    return module


def served(directory: Path, package: str, source: str, *flags: str, **env: str) -> Service:
    """A Service (not yet started) serving `package.main:app` written from `source`."""
    (directory / package).mkdir()
    (directory / package / "__init__.py").write_text("")
    (directory / package / "main.py").write_text(source, encoding="utf-8")
    service = Service(directory, package, base_env(**env), uvicorn_cli=True, python=sys.executable)
    service.command += list(flags)
    return service
