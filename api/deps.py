"""Who is calling, and what they may do: the dependencies every /v1 route declares.

A request carries its agency's API key as ``X-API-Key: <key>`` or ``Authorization: Bearer
<key>`` (the watch-floor page: an HttpOnly cookie set by ``POST /v1/session``, because a
browser's EventSource cannot send headers). A missing or unknown key is 401, a role the
route does not admit 403, each with a JSON ``detail``.

Routes take ``Db`` for their queries: one transaction per request, as the ``lookout_api``
role with ``lookout.agency`` set to the caller's agency, so PostgreSQL's row-level
security decides what the caller sees (the sharing rule, migration 008), whatever the
route's own SQL says. Usage::

    @router.get("/things")
    async def things(caller: AnyRole, db: Db) -> ...

    @router.post("/things")
    async def add(caller: Annotated[Caller, Depends(require(Role.ANALYST))], db: Db) -> ...
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.db import ApiDatabase, set_agency
from store.api_keys import Role, digest
from store.db import Conn

SESSION_COOKIE = "lookout_session"

_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="Agency API key.")
_bearer = HTTPBearer(auto_error=False, description="The API key as a bearer token.")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="Set by POST /v1/session (the page)."
)


@dataclass(frozen=True)
class Caller:
    """The authenticated agency, the role of its key, and the key's id (for the audit)."""

    agency: str
    role: Role
    key_id: uuid.UUID


def database(request: Request) -> ApiDatabase:
    db: ApiDatabase | None = getattr(request.app.state, "database", None)
    if db is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the API has no database")
    return db


async def _transaction(
    api_db: Annotated[ApiDatabase, Depends(database)],
) -> AsyncIterator[Conn]:
    """The request's transaction. The agency is set by ``authenticate`` (FastAPI gives a
    route and its dependencies the same connection)."""
    async with api_db.pool.connection() as conn, conn.transaction():
        await set_agency(conn, None, api_db.settings.sharing_window_days)
        yield conn


def presented_key(
    x_api_key: str | None, bearer: HTTPAuthorizationCredentials | None, cookie: str | None
) -> str | None:
    if x_api_key:
        return x_api_key
    if bearer is not None and bearer.credentials:
        return bearer.credentials
    return cookie or None


async def lookup_key(conn: Conn, key: str) -> Caller | None:
    """The caller a key stands for, or None. The database finds the row by the key's hash;
    the hashes are compared again here in constant time."""
    wanted = digest(key)
    cur = await conn.execute(
        "SELECT key_id, agency_id, role, key_sha256 FROM lookout_authenticate(%s)", (wanted,)
    )
    row = await cur.fetchone()
    if row is None or not hmac.compare_digest(bytes(row[3]), wanted):
        return None
    return Caller(agency=str(row[1]), role=Role(row[2]), key_id=row[0])


def unauthorized(reason: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, reason, headers={"WWW-Authenticate": "ApiKey"}
    )


async def authenticate(
    conn: Annotated[Conn, Depends(_transaction)],
    api_db: Annotated[ApiDatabase, Depends(database)],
    x_api_key: Annotated[str | None, Depends(_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Caller:
    key = presented_key(x_api_key, bearer, cookie)
    if not key:
        raise unauthorized("an API key is required (X-API-Key or Authorization: Bearer)")
    caller = await lookup_key(conn, key)
    if caller is None:
        raise unauthorized("unknown, revoked or expired API key")
    await set_agency(conn, caller.agency, api_db.settings.sharing_window_days)
    return caller


AnyRole = Annotated[Caller, Depends(authenticate)]
"""Any authenticated agency."""

Db = Annotated[Conn, Depends(_transaction)]
"""The request's connection; declare ``AnyRole`` (or a ``require``) beside it."""


def require(*roles: Role) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency admitting ``roles`` (and ``admin``, which may do everything)."""
    admitted = {*roles, Role.ADMIN}
    names = ", ".join(sorted(r.value for r in admitted))

    async def check(caller: AnyRole) -> Caller:
        if caller.role not in admitted:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {caller.role.value!r} may not do this; it needs one of: {names}",
            )
        return caller

    return check


Watch = Annotated[Caller, Depends(require(Role.WATCH, Role.ANALYST))]
"""Watch floor: the picture and decisions on alerts (analysts may too)."""
Analyst = Annotated[Caller, Depends(require(Role.ANALYST))]
"""History, exports, reports."""
Reporter = Annotated[Caller, Depends(require(Role.ANALYST, Role.INTEGRATOR, Role.WATCH))]
"""Filing patrol and community reports."""
Integrator = Annotated[Caller, Depends(require(Role.INTEGRATOR))]
"""Machine clients: webhooks."""
Admin = Annotated[Caller, Depends(require())]
"""Configuration: zones and watchlist."""


async def audit(
    conn: Conn,
    caller: Caller,
    action: str,
    resource: str,
    resource_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """An audit row in the request's transaction (it commits with the change it records)."""
    from psycopg.types.json import Jsonb

    await conn.execute(
        "INSERT INTO audit_log (agency_id, key_id, action, resource, resource_id, detail) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (caller.agency, caller.key_id, action, resource, resource_id, Jsonb(detail or {})),
    )


async def authenticate_briefly(request: Request) -> Caller:
    """For long-lived responses (the live stream): check the key, then give the connection
    back at once instead of holding it for the life of the stream."""
    api_db = database(request)
    bearer = request.headers.get("authorization", "")
    key = presented_key(
        request.headers.get("x-api-key"),
        HTTPAuthorizationCredentials(scheme="Bearer", credentials=bearer[7:])
        if bearer.lower().startswith("bearer ")
        else None,
        request.cookies.get(SESSION_COOKIE),
    )
    if not key:
        raise unauthorized("an API key is required (X-API-Key, Bearer, or the page's session)")
    async with api_db.session(None) as conn:
        caller = await lookup_key(conn, key)
    if caller is None:
        raise unauthorized("unknown, revoked or expired API key")
    return caller


Briefly = Annotated[Caller, Depends(authenticate_briefly)]
"""Any authenticated agency, without holding a database connection."""
