"""The OAuth2 password flow: trade an email and password for a bearer token."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from ...core.errors import ProblemException
from ...core.openapi import problem_responses
from ...core.security import create_access_token
from ...schemas import Token
from ..deps import SettingsDep, UserServiceDep

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", responses=problem_responses(400, 401, 413, 422, 503))
async def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    users: UserServiceDep,
    settings: SettingsDep,
) -> Token:
    """`username` is the email address."""
    user = await users.authenticate(form.username, form.password)
    if user is None:
        raise ProblemException(
            401, detail="Incorrect email or password.", headers={"WWW-Authenticate": "Bearer"}
        )
    token, expires_in = create_access_token(str(user.id), settings)
    return Token(access_token=token, expires_in=expires_in)
