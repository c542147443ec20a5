"""Who may write: organizer bearer tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.errors import Unauthorized
from service.schedules.organizer_tokens import organizer_for
from service.services import Services

organizer_bearer = HTTPBearer(
    auto_error=False, scheme_name="organizer", description="`visitcal token create` prints one"
)


def require_organizer(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(organizer_bearer)],
) -> str:
    """The organizer token's name; 401 when missing, wrong or revoked."""
    services: Services = request.app.state.services
    name = organizer_for(services.db, credentials.credentials if credentials else None)
    if name is None:
        raise Unauthorized("an organizer token is required (Authorization: Bearer <token>)")
    return name


Organizer = Annotated[str, Depends(require_organizer)]
