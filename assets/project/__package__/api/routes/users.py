"""Users: sign-up, the current user, and the list for administrators."""

from fastapi import APIRouter

from ...core.errors import ProblemException
from ...core.openapi import problem_responses
from ...schemas import UserCreate, UserPage, UserRead
from ...services.users import EmailTakenError
from ..deps import AdminUser, FreshCurrentUser, LimitQuery, OffsetQuery, UserServiceDep

# Every route here reads or writes the database.
router = APIRouter(prefix="/users", tags=["users"], responses=problem_responses(503))


@router.post("", status_code=201, responses=problem_responses(400, 409, 413, 422))
async def sign_up(data: UserCreate, users: UserServiceDep) -> UserRead:
    try:
        return await users.create(data)
    except EmailTakenError:
        raise ProblemException(409, detail="A user with this email already exists.") from None


@router.get("/me", responses=problem_responses(401))
async def read_current_user(user: FreshCurrentUser) -> UserRead:
    return user


@router.get("", responses=problem_responses(401, 403, 422))
async def list_users(
    users: UserServiceDep, _admin: AdminUser, limit: LimitQuery = 20, offset: OffsetQuery = 0
) -> UserPage:
    return await users.page(limit=limit, offset=offset)
