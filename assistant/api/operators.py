"""Operator access: CONCERTA_ADMIN_TOKEN. Unset, operator routes do not exist (404);
set, they need `Authorization: Bearer <token>` (401 otherwise)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from assistant.api.deps import SettingsDep
from assistant.api.errors import STATUS_MESSAGES, CatalanHTTPException

NEED_TOKEN = (
    "Cal la clau d'operador: envieu-la a la capçalera Authorization: Bearer <clau>. "
    "Si no la teniu, demaneu-la a qui administra Concerta."
)

# Declares the scheme in the OpenAPI (the Authorize button of /docs); checked below.
bearer_scheme = HTTPBearer(
    auto_error=False, scheme_name="operador", description="La clau CONCERTA_ADMIN_TOKEN."
)


def operators_enabled(settings: SettingsDep) -> None:
    """404, as for any unknown address, when no operator token is configured."""
    if settings.admin_token is None:
        raise CatalanHTTPException(status_code=404, detail=STATUS_MESSAGES[404])


def require_operator(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> None:
    operators_enabled(settings)
    assert settings.admin_token is not None  # checked just above
    expected = settings.admin_token.get_secret_value().encode()
    given = credentials.credentials.encode() if credentials is not None else b""
    # Constant time: the comparison must not tell how much of a guess was right.
    if not hmac.compare_digest(given, expected):
        raise CatalanHTTPException(
            status_code=401, detail=NEED_TOKEN, headers={"WWW-Authenticate": "Bearer"}
        )


OperatorPage = Depends(operators_enabled)
Operator = Depends(require_operator)
