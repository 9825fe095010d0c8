"""Keep the bot token out of logs.

Bot API URLs contain the token (https://api.telegram.org/bot<token>/sendMessage):
httpx logs every request URL at INFO and python-telegram-bot logs its base URL at
DEBUG. httpx is turned down to WARNING, and every record of the libraries that talk to
Telegram has the token replaced, whatever level the deployment logs at.
"""

from __future__ import annotations

import logging

REDACTED = "<TOKEN>"
_LIBRARY_LOGGERS = ("telegram", "httpx", "httpcore", "tornado")


class TokenRedactor(logging.Filter):
    """Replaces the token in a record's message (and its arguments) with <TOKEN>."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.token:
            return True
        message = record.getMessage()
        if self.token in message:
            record.msg = message.replace(self.token, REDACTED)
            record.args = None
        return True


def protect_token(token: str) -> None:
    """Install the redactor on every logger of the Telegram and HTTP libraries."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    names = [
        name
        for name in list(logging.root.manager.loggerDict)
        if name.split(".")[0] in _LIBRARY_LOGGERS
    ]
    for name in {*names, *_LIBRARY_LOGGERS, "telegram.Bot", "telegram.ext.ExtBot"}:
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenRedactor) and f.token == token for f in logger.filters):
            logger.addFilter(TokenRedactor(token))
