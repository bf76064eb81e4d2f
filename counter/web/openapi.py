"""The bearer scheme, declared so that the OpenAPI document says which operations need a token.

``BEARER_AUTH`` is added as a dependency to the routers (and routes) that
authenticate with ``ApiUser``: FastAPI then lists the scheme under
``components.securitySchemes`` and ``security`` on each of their
operations. It checks nothing itself (``auto_error=False``): the token is
``counter.web.auth.bearer_principal``'s to check.
"""

from __future__ import annotations

from fastapi import Security
from fastapi.security import HTTPBearer

__all__ = ["BEARER_AUTH"]

BEARER_AUTH = Security(
    HTTPBearer(
        auto_error=False,
        scheme_name="bearer",
        description="A token from POST /api/session: `Authorization: Bearer <token>`.",
    )
)
