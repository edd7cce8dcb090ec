"""FPA305-FPA307 (rules_security) on small inline projects: real shapes that must be
found, and look-alikes that must not. Every FPA30x module runs on each fixture, so the
expected lists also say that the other rules stay quiet."""

from __future__ import annotations

from pathlib import Path

from audit_fixtures import assert_documented, fpa30x
from fastapi_patterns.audit import rules_security


def test_rules_are_described() -> None:
    assert [rule.code for rule in rules_security.RULES] == ["FPA305", "FPA306", "FPA307"]
    assert_documented(rules_security.RULES)
    assert [rule.code for rule in rules_security.RULES if rule.fixable] == []


# FPA305 CORS ----------------------------------------------------------------------------


def test_cors_wildcard_with_credentials(tmp_path: Path) -> None:
    files = {
        "main.py": """
            from fastapi import FastAPI
            from fastapi.middleware.cors import CORSMiddleware as Cors
            from starlette.middleware import Middleware

            ORIGINS = ["*"]
            CREDENTIALS = True
            cors = Middleware(Cors, allow_origins=("*",), allow_credentials=True)
            app = FastAPI(middleware=[cors])

            def create_app() -> FastAPI:
                api = FastAPI()
                api.add_middleware(Cors, allow_origins=ORIGINS, allow_credentials=CREDENTIALS)
                return api
        """,
        "asgi.py": """
            from starlette.middleware.cors import CORSMiddleware
            from main import app

            application = CORSMiddleware(app, allow_origins={"*"}, allow_credentials=True)
        """,
    }
    assert fpa30x(tmp_path, files) == [
        ("FPA305", "asgi.py", 5),
        ("FPA305", "main.py", 8),
        ("FPA305", "main.py", 13),
    ]


def test_cors_lookalikes_are_fine(tmp_path: Path) -> None:
    files = {
        "settings.py": "CORS = ['*']\n",
        "main.py": """
            from fastapi import FastAPI
            from fastapi.middleware.cors import CORSMiddleware
            from settings import CORS

            app = FastAPI()
            app.add_middleware(CORSMiddleware, allow_origins=["*"])  # no credentials
            app.add_middleware(
                CORSMiddleware, allow_origins=["https://app.example"], allow_credentials=True
            )
            app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=False)

            def build(origins: list[str]) -> None:
                app.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=True)
        """,
    }
    assert fpa30x(tmp_path, files) == []


# FPA306 / FPA307 JWT --------------------------------------------------------------------


def test_jwt_decode_without_pinned_algorithms_or_exp(tmp_path: Path) -> None:
    files = {
        "auth/__init__.py": "",
        "auth/pyjwt.py": """
            import jwt as pyjwt

            class Tokens:
                def __init__(self, key: str) -> None:
                    self.key = key

                def read(self, token: str) -> dict:
                    return pyjwt.decode(token, self.key)

                def lenient(self, token: str) -> dict:
                    return pyjwt.decode(
                        token, self.key, algorithms=["HS256"], options={"verify_exp": False}
                    )

                def partial(self, token: str) -> dict:
                    return pyjwt.decode(
                        token, self.key, algorithms=["HS256"], options={"require": ["sub"]}
                    )
        """,
        "auth/jose.py": """
            from jose import jwt

            OPTIONS = {"verify_exp": False}

            def decode(token: str, key: str) -> dict:
                return jwt.decode(token, key, algorithms=None, options=OPTIONS)
        """,
    }
    assert fpa30x(tmp_path, files) == [
        ("FPA306", "auth/jose.py", 7),
        ("FPA307", "auth/jose.py", 7),
        ("FPA306", "auth/pyjwt.py", 9),
        ("FPA307", "auth/pyjwt.py", 12),
        ("FPA307", "auth/pyjwt.py", 17),
    ]


def test_jwt_decode_done_right_is_fine(tmp_path: Path) -> None:
    files = {
        "security.py": """
            import json
            import jwt
            from jose import jwt as jose_jwt

            ALGORITHMS = ["RS256"]

            def verify(token: str, key: str, algorithm: str) -> dict:
                jwt.decode(token, key, [algorithm])
                jose_jwt.decode(token, key, algorithms=ALGORITHMS)
                jwt.decode(token, options={"verify_signature": False})  # a deliberate peek
                jwt.decode(token, key, algorithms=[algorithm], options={"require": ["exp", "sub"]})
                kwargs = {"algorithms": ["HS256"]}
                jwt.decode(token, key, **kwargs)
                return json.decoder.JSONDecoder().decode("{}")
        """,
    }
    assert fpa30x(tmp_path, files) == []
