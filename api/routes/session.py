"""Who am I, and the page's session: a key exchanged for an HttpOnly cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, Field

from api.db import ApiDatabase
from api.deps import SESSION_COOKIE, AnyRole, Db, database, lookup_key, unauthorized
from store.api_keys import Role

router = APIRouter(tags=["session"])


class Me(BaseModel):
    agency: str = Field(examples=["BAKAMLA"])
    role: Role


class Login(BaseModel):
    key: str = Field(min_length=1, max_length=200, description="The agency's API key.")


@router.get("/me", response_model=Me)
async def me(caller: AnyRole) -> Me:
    """The agency and role the presented key stands for."""
    return Me(agency=caller.agency, role=caller.role)


@router.post("/session", response_model=Me)
async def login(
    body: Login,
    response: Response,
    db: Db,
    api_db: Annotated[ApiDatabase, Depends(database)],
) -> Me:
    """Exchange a key for an HttpOnly, SameSite=Strict cookie (the page's EventSource
    cannot send headers). The key is checked again on every request: revoking it ends the
    session."""
    caller = await lookup_key(db, body.key)
    if caller is None:
        raise unauthorized("unknown, revoked or expired API key")
    response.set_cookie(
        SESSION_COOKIE,
        body.key,
        httponly=True,
        samesite="strict",
        secure=api_db.settings.api_cookie_secure,
        max_age=12 * 3600,  # one watch
        path="/",
    )
    return Me(agency=caller.agency, role=caller.role)


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT)
async def logout(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
