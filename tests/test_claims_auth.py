"""references/auth.md's claims about the installed FastAPI and PyJWT.

Each test is named after the section that makes the claim.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import httpx
import jwt
import pytest
from fastapi import Depends, FastAPI
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

KEY = "k" * 32


def test_401_or_403_http_bearer_answers_401_with_www_authenticate() -> None:
    app = FastAPI()

    @app.get("/me")
    async def me(
        credentials: Annotated[HTTPAuthorizationCredentials, Depends(HTTPBearer())],
    ) -> str:
        return credentials.credentials

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [
                await client.get("/me"),
                await client.get("/me", headers={"Authorization": "Basic dXNlcjpwdw=="}),
            ]

    for response in asyncio.run(run()):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


def test_tokens_exp_is_checked_only_when_required() -> None:
    token = jwt.encode({"sub": "user"}, KEY, algorithm="HS256")  # no exp at all
    assert jwt.decode(token, KEY, algorithms=["HS256"]) == {"sub": "user"}
    with pytest.raises(jwt.MissingRequiredClaimError, match="exp"):
        jwt.decode(token, KEY, algorithms=["HS256"], options={"require": ["exp"]})


def test_tokens_algorithms_must_be_pinned() -> None:
    token = jwt.encode({"sub": "user"}, KEY, algorithm="HS256")
    with pytest.raises(jwt.DecodeError, match="algorithms"):
        jwt.decode(token, KEY)
    with pytest.raises(jwt.InvalidAlgorithmError):
        jwt.decode(token, KEY, algorithms=["HS512"])
