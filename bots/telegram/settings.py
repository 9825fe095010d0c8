"""Telegram bot settings, read from TELEGRAM_* environment variables."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class BotSettings(BaseSettings):
    """Everything the bot needs besides the assistant. The token never appears in a repr."""

    model_config = SettingsConfigDict(env_prefix="TELEGRAM_", extra="ignore")

    bot_token: SecretStr
    # python-telegram-bot's base_url form: the token is appended to it
    # (https://api.telegram.org/bot, or a self-hosted Bot API server).
    api_base_url: str | None = None
    # Comma-separated chat ids; empty means every chat may use the bot.
    allowed_chats: Annotated[frozenset[int], NoDecode] = frozenset()
    # Per-chat limit: at most `rate_limit` messages every `rate_window` seconds.
    rate_limit: int = Field(default=10, ge=1)
    rate_window: float = Field(default=60.0, gt=0)
    # Bounded retries of Telegram requests (flood control and network errors).
    max_retries: int = Field(default=4, ge=0)
    # Webhook mode (production): set the public URL; the bot listens on listen:port.
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    webhook_secret: SecretStr | None = None

    @field_validator("bot_token", mode="after")
    @classmethod
    def _reject_empty_token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("TELEGRAM_BOT_TOKEN is empty")
        return value

    @field_validator("allowed_chats", mode="before")
    @classmethod
    def _parse_chat_ids(cls, value: Any) -> Any:
        # "123, -100456" from the environment; sets and lists pass through.
        if isinstance(value, str):
            return frozenset(
                int(part) for part in value.replace(";", ",").split(",") if part.strip()
            )
        return value

    @field_validator("api_base_url", "webhook_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return value or None
