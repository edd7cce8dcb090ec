"""What the hand-written baselines share: the generated service's checks and bodies, by hand.

The baselines do the work of the generated `GET /items?limit=20` (and, in apps/f_asyncpg.py,
of `POST /items` and `PATCH /items/{id}`) and nothing else: verify
the bearer token exactly as the generated `core/security.py` does (HS256 pinned, `exp`,
`iat` and `sub` required, `sub` a decimal user id in range), load the user by id (refused
when missing or inactive), count the caller's items and read one page of them. The models
below have the generated schemas' fields in the same order, so the response bytes are the
same; bench/dbpath.py compares them byte for byte before it measures anything.

Settings come from the same environment the generated service reads (DATABASE_URL,
SECRET_KEY), so a baseline runs against the database the generated service migrated.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Path, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, field_validator

MAX_ID = 2_147_483_647
NO_NUL = r"^[^\x00]*$"
SECRET_KEY = os.environ["SECRET_KEY"]
DATABASE_URL = os.environ["DATABASE_URL"]
POOL_SIZE, MAX_OVERFLOW = 15, 0  # the generated service's defaults
ROUTE = "/items"


class ItemRead(BaseModel):
    id: int
    title: str
    description: str | None
    owner_id: int
    created_at: datetime
    updated_at: datetime


class ItemCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    description: str | None = Field(default=None, max_length=10_000, pattern=NO_NUL)


class ItemUpdate(BaseModel):
    """Fields to change; omitted fields keep their value (as the generated schema)."""

    title: str | None = Field(default=None, min_length=1, max_length=200, pattern=NO_NUL)
    description: str | None = Field(default=None, max_length=10_000, pattern=NO_NUL)

    @field_validator("title")
    @classmethod
    def _title_not_null(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("title cannot be null")
        return value


class ItemPage(BaseModel):
    items: list[ItemRead]
    total: int
    limit: int
    offset: int


bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
LimitQuery = Annotated[int, Query(ge=1, le=100)]
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_ID)]
ItemIdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


def unauthorized() -> HTTPException:
    return HTTPException(401, "Not authenticated.", headers={"WWW-Authenticate": "Bearer"})


def user_id_from(credentials: HTTPAuthorizationCredentials | None) -> int:
    """The user id of a valid token, with the generated service's checks; 401 otherwise."""
    if credentials is None:
        raise unauthorized()
    try:
        claims = jwt.decode(
            credentials.credentials,
            SECRET_KEY,
            algorithms=["HS256"],
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.InvalidTokenError:
        raise unauthorized() from None
    subject = claims["sub"]
    if not (
        isinstance(subject, str)
        and subject.isascii()
        and subject.isdecimal()
        and len(subject) <= len(str(MAX_ID))
        and 1 <= int(subject) <= MAX_ID
    ):
        raise unauthorized()
    return int(subject)
