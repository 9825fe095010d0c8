"""Dependencies the routes declare: the service and the settings of this app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from assistant.service import AssistantService
from index_config import Settings


def get_service(request: Request) -> AssistantService:
    # Set by create_app; one service per app, shared by every request (it is thread-safe).
    service: AssistantService = request.app.state.service
    return service


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


ServiceDep = Annotated[AssistantService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
