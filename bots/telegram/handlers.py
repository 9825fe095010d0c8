"""The bot's handlers: thin async functions between Telegram updates and the backend."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from telegram import (
    Bot,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from assistant.cards import CardList, source_title
from assistant.errors import ConcertaError, IndexNotReadyError, QueryError
from assistant.models import Answer, Hit
from bots.telegram import keyboards, texts
from bots.telegram.backend import AssistantBackend, BackendUnavailableError
from bots.telegram.card import list_line, render_card
from bots.telegram.guards import ChatRateLimiter, addressed_to_bot, is_allowed, strip_mention
from bots.telegram.memory import Conversations, SentMessage, SentMessages
from bots.telegram.render import (
    escape,
    link,
    render_markdown,
    render_sources,
    source_label,
    split_message,
)
from bots.telegram.settings import BotSettings

logger = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
T = TypeVar("T")
MAX_QUESTION_CHARS = 2000
SEARCH_RESULTS = 8
OPEN_RESULTS = 15  # /obert: dated windows open on the reference date
SOON_RESULTS = 5  # ... and the next ones to open, within SOON_DAYS
SOON_DAYS = 30
TYPING_INTERVAL = 4.0  # Telegram shows "typing…" for about 5 seconds per action
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
MESSAGE_UPDATES = filters.UpdateType.MESSAGE  # edits of old messages are not questions


class ConcertaBot:
    """Holds the backend and the per-chat state; its methods are the handlers."""

    def __init__(
        self, backend: AssistantBackend, settings: BotSettings, chat_store: Path | None = None
    ) -> None:
        """`chat_store`: the SQLite file of the chat -> conversation map (None: memory)."""
        self.backend = backend
        self.settings = settings
        self.rate = ChatRateLimiter(settings.rate_limit, settings.rate_window)
        self.conversations = Conversations(chat_store)
        self.sent = SentMessages()
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._updates_seen = 0

    def register(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        app.add_handler(TypeHandler(Update, self.guard), group=-1)
        app.add_handler(CommandHandler("start", self.start, filters=MESSAGE_UPDATES))
        app.add_handler(CommandHandler(["ajuda", "help"], self.help, filters=MESSAGE_UPDATES))
        app.add_handler(CommandHandler("cerca", self.search, filters=MESSAGE_UPDATES))
        app.add_handler(CommandHandler("nova", self.new_conversation, filters=MESSAGE_UPDATES))
        app.add_handler(CommandHandler("obert", self.open_now, filters=MESSAGE_UPDATES))
        app.add_handler(MessageHandler(MESSAGE_UPDATES & filters.COMMAND, self.help))
        app.add_handler(MessageHandler(MESSAGE_UPDATES & filters.TEXT, self.question))
        app.add_handler(MessageHandler(MESSAGE_UPDATES & filters.ATTACHMENT, self.unsupported))
        app.add_handler(CallbackQueryHandler(self.button))
        app.add_error_handler(self.on_error)

    # Guard ---------------------------------------------------------------------------

    async def guard(self, update: Update, context: Context) -> None:
        """Runs before every handler: group addressing, allowlist and rate limit."""
        chat = update.effective_chat
        if chat is None:
            raise ApplicationHandlerStop
        allowed = is_allowed(chat.id, self.settings.allowed_chats)
        query = update.callback_query
        if query is not None:
            if not allowed:
                await query.answer(texts.NOT_ALLOWED, show_alert=True)
                raise ApplicationHandlerStop
            if not self.rate.allow(chat.id):
                await query.answer(texts.RATE_LIMITED)
                raise ApplicationHandlerStop
            return
        message = update.message
        if message is None or not addressed_to_bot(message, context.bot.username, context.bot.id):
            raise ApplicationHandlerStop
        if not allowed:
            logger.info("Refused chat %s (not in TELEGRAM_ALLOWED_CHATS)", chat.id)
            await message.reply_text(texts.NOT_ALLOWED)
            raise ApplicationHandlerStop
        self._updates_seen += 1
        if self._updates_seen % 1000 == 0:
            self.rate.forget_idle()
        if not self.rate.allow(chat.id):
            if self.rate.should_warn(chat.id):
                await message.reply_text(texts.RATE_LIMITED)
            raise ApplicationHandlerStop

    # Commands ------------------------------------------------------------------------

    async def start(self, update: Update, context: Context) -> None:
        """/start: what the bot does, with example questions as buttons."""
        assert update.message is not None
        await update.message.reply_html(texts.START, reply_markup=keyboards.examples_keyboard())

    async def help(self, update: Update, context: Context) -> None:
        """/ajuda (and unknown commands): how to use the bot."""
        assert update.message is not None
        username = escape(context.bot.username or "bot")
        await update.message.reply_html(texts.HELP.format(username=username))

    async def search(self, update: Update, context: Context) -> None:
        """/cerca <text>: a compact list of matching resources and articles."""
        message = update.message
        assert message is not None
        query = " ".join(context.args or []).strip()
        if not query:
            await message.reply_text(texts.SEARCH_USAGE)
            return
        if len(query) > MAX_QUESTION_CHARS:
            await self._reply_too_long(message, len(query))
            return
        async with self._typing(context.bot, message.chat_id):
            hits = await self._call(
                self.backend.search(query, SEARCH_RESULTS), context.bot, message.chat_id, message
            )
        if hits is None:
            return
        if not hits:
            await message.reply_html(texts.SEARCH_EMPTY.format(query=escape(query)))
            return
        header = texts.SEARCH_HEADER.format(query=escape(query))
        await self._send_list(context.bot, message, header, hits)

    async def open_now(self, update: Update, context: Context) -> None:
        """/obert: windows open on the reference date, then those opening soon."""
        message = update.message
        assert message is not None
        async with self._typing(context.bot, message.chat_id):
            listing = await self._call(
                self.backend.window_cards(), context.bot, message.chat_id, message
            )
        if listing is None:
            return
        html, codes = self._windows_html(listing)
        if not codes:
            await message.reply_html(texts.OPEN_EMPTY.format(date=listing.reference_date.text))
            return
        markup = keyboards.codes_keyboard(codes)
        await self._send_parts(context.bot, message.chat_id, html, markup, message)

    @staticmethod
    def _windows_html(listing: CardList) -> tuple[str, list[str]]:
        """The /obert message and the codes it lists (for "Més detalls")."""
        reference = listing.reference_date
        dated = [c for c in listing.cards if c.window.state == "open"][:OPEN_RESULTS]
        all_year = [c for c in listing.cards if c.window.state == "all_year"]
        horizon = reference.date + dt.timedelta(days=SOON_DAYS)
        soon = [
            c
            for c in listing.cards
            if c.window.state == "upcoming" and c.window.opens and c.window.opens <= horizon
        ][:SOON_RESULTS]
        lines = [texts.OPEN_HEADER.format(date=escape(reference.text))]
        if reference.fixed:
            lines.append(texts.OPEN_REFERENCE.format(date=escape(reference.text)))
        number = 0
        for heading, cards in ((texts.OPEN_NOW, dated), (texts.OPEN_SOON, soon)):
            if cards:
                lines += ["", heading]
                for card in cards:
                    number += 1
                    lines.append(list_line(number, card))
        if all_year:
            lines += ["", texts.OPEN_ALL_YEAR.format(count=len(all_year))]
        codes = [c.codi for c in (*dated, *soon)]
        return "\n".join(lines), codes if (dated or soon or all_year) else []

    async def new_conversation(self, update: Update, context: Context) -> None:
        """/nova: forget this chat's conversation; the next question starts a new one."""
        message = update.message
        assert message is not None
        previous = self.conversations.forget(message.chat_id)
        if previous is not None:
            try:
                await self.backend.reset_conversation(previous)
            except ConcertaError as exc:
                # The chat already has a fresh conversation; the old one just lingers.
                logger.warning("Could not reset conversation: %s", type(exc).__name__)
        await message.reply_text(texts.NEW_CONVERSATION)

    # Messages ------------------------------------------------------------------------

    async def question(self, update: Update, context: Context) -> None:
        """Any other text: a question for the assistant."""
        message = update.message
        assert message is not None and message.text is not None
        text = message.text
        if message.chat.type != "private":
            text = strip_mention(text, context.bot.username)
        text = text.strip()
        if not text:
            await message.reply_text(texts.EMPTY_MESSAGE)
            return
        if len(text) > MAX_QUESTION_CHARS:
            await self._reply_too_long(message, len(message.text))
            return
        await self._answer(context.bot, message.chat_id, text, reply_to=message)

    async def unsupported(self, update: Update, context: Context) -> None:
        """Stickers, photos, voice notes, documents...: ask for text instead."""
        assert update.message is not None
        await update.message.reply_text(texts.UNSUPPORTED_MEDIA)

    # Buttons -------------------------------------------------------------------------

    async def button(self, update: Update, context: Context) -> None:
        """Inline buttons: example questions, resource cards, back, 👍/👎."""
        query = update.callback_query
        assert query is not None
        callback = keyboards.parse_callback(query.data)
        message = query.message if isinstance(query.message, Message) else None
        if callback is None or message is None:
            await query.answer(texts.BUTTON_EXPIRED)
            return
        chat_id = message.chat_id
        if callback.action == "question":
            index = int(callback.value)
            if index >= len(texts.EXAMPLE_QUESTIONS):
                await query.answer(texts.BUTTON_EXPIRED)
                return
            await query.answer()
            question = texts.EXAMPLE_QUESTIONS[index]
            await self._answer(context.bot, chat_id, question, echo_question=True)
        elif callback.action == "details":
            await self._show_card(query.answer, message, callback.value)
        elif callback.action == "pick":
            sent = self.sent.get(chat_id, message.message_id)
            if sent is None or sent.question is None or sent.conversation_id is None:
                await query.answer(texts.BUTTON_EXPIRED)
                return
            await query.answer()
            await self._answer(
                context.bot, chat_id, sent.question, focus=callback.value, echo_question=True
            )
        elif callback.action == "back":
            sent = self.sent.get(chat_id, message.message_id)
            if sent is None:
                await query.answer(texts.ANSWER_EXPIRED)
                return
            await query.answer()
            await self._edit(message, sent.html, sent.markup)
        else:
            await self._feedback(query.answer, message, callback)

    async def _show_card(self, toast: Any, message: Message, codi: str) -> None:
        try:
            card = await self.backend.card(codi)
        except ConcertaError:
            await toast(texts.BACKEND_UNAVAILABLE)
            return
        if card is None:
            await toast(texts.RESOURCE_NOT_FOUND)
            return
        await toast()
        # "Back" needs the text this card replaces; after a restart it is gone.
        can_go_back = self.sent.get(message.chat_id, message.message_id) is not None
        html = split_message(render_card(card))[0]
        await self._edit(message, html, keyboards.card_keyboard(card.url, back=can_go_back))

    async def _feedback(self, toast: Any, message: Message, callback: keyboards.Callback) -> None:
        conversation_id, message_id = callback.conversation_id, callback.message_id
        if conversation_id is None:
            sent = self.sent.get(message.chat_id, message.message_id)
            if sent is None or sent.conversation_id is None:
                await toast(texts.BUTTON_EXPIRED)
                return
            conversation_id, message_id = sent.conversation_id, sent.message_id
        try:
            await self.backend.feedback(conversation_id, callback.rating, message_id)
        except ConcertaError as exc:
            logger.warning("Feedback not stored: %s", type(exc).__name__)
            await toast(texts.FEEDBACK_FAILED)
            return
        thanks = texts.FEEDBACK_THANKS_UP if callback.rating > 0 else texts.FEEDBACK_THANKS_DOWN
        await toast(thanks)

    # Errors --------------------------------------------------------------------------

    async def on_error(self, update: object, context: Context) -> None:
        """Log every unhandled error and apologise to the chat, if there is one."""
        logger.error("Error while handling an update", exc_info=context.error)
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        try:
            if update.callback_query is not None:
                with contextlib.suppress(TelegramError):
                    await update.callback_query.answer()
            await context.bot.send_message(update.effective_chat.id, texts.UNEXPECTED_ERROR)
        except TelegramError as exc:
            logger.warning("Could not apologise to the chat: %s", type(exc).__name__)

    # Helpers -------------------------------------------------------------------------

    async def _answer(
        self,
        bot: Bot,
        chat_id: int,
        question: str,
        *,
        reply_to: Message | None = None,
        echo_question: bool = False,
        focus: str | None = None,
    ) -> None:
        """Ask the backend and send the answer, its sources and its buttons. `focus`: the
        code of the one resource of the previous answer the question is about."""
        # One question at a time per chat, so a follow-up sees the previous answer.
        async with self._lock(chat_id):
            async with self._typing(bot, chat_id):
                conversation_id = self.conversations.get(chat_id)
                answer = await self._call(
                    self.backend.ask(question, conversation_id, focus), bot, chat_id, reply_to
                )
            if answer is None:
                return
            self.conversations.set(chat_id, answer.conversation_id)
            echo = None
            if focus is not None:
                title = next((h.title for h in answer.sources if h.codi == focus), focus)
                echo = texts.PICKED.format(question=escape(question), title=escape(title))
            elif echo_question:
                echo = f"<i>{escape(question)}</i>"
            html = self._answer_html(answer, echo)
            markup = keyboards.answer_keyboard(
                answer.sources, answer.conversation_id, answer.message_id, answer.choices
            )
            await self._send_parts(
                bot,
                chat_id,
                html,
                markup,
                reply_to,
                answer.conversation_id,
                answer.message_id,
                question=question,
            )

    @staticmethod
    def _answer_html(answer: Answer, echo: str | None) -> str:
        blocks = []
        if echo:
            blocks.append(echo)
        blocks.append(render_markdown(answer.answer, answer.sources))
        if answer.choices:
            blocks.append(texts.CHOICES_HINT)
        if answer.sources:
            blocks.append(render_sources(answer.sources))
        return "\n\n".join(block for block in blocks if block)

    async def _send_list(
        self, bot: Bot, message: Message, header: str, hits: Sequence[Hit]
    ) -> None:
        lines = [header, ""]
        for number, hit in enumerate(hits, start=1):
            title = link(hit.url, escape(hit.title)) if hit.url else escape(hit.title)
            details = [source_label(hit)]
            if hit.kind != "recurs":
                details.append(source_title(hit))  # the document's title, not its file
            extra = " · ".join(escape(d) for d in details if d)
            lines.append(f"{number}. {title}" + (f" — {extra}" if extra else ""))
        markup = keyboards.details_keyboard(hits)
        await self._send_parts(bot, message.chat_id, "\n".join(lines), markup, message)

    async def _send_parts(
        self,
        bot: Bot,
        chat_id: int,
        html: str,
        markup: InlineKeyboardMarkup | None,
        reply_to: Message | None,
        conversation_id: str | None = None,
        message_id: str | None = None,
        question: str | None = None,
    ) -> None:
        """Send HTML in parts below Telegram's limit; buttons go on the last part."""
        parts = split_message(html)
        reply = None
        if reply_to is not None and reply_to.chat.type != "private":
            reply = ReplyParameters(reply_to.message_id, allow_sending_without_reply=True)
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            sent = await bot.send_message(
                chat_id,
                part,
                parse_mode=ParseMode.HTML,
                reply_markup=markup if last else None,
                link_preview_options=NO_PREVIEW,
                reply_parameters=reply if index == 0 else None,
            )
            if last:
                self.sent.remember(
                    chat_id,
                    sent.message_id,
                    SentMessage(part, markup, conversation_id, message_id, question),
                )

    async def _edit(self, message: Message, html: str, markup: InlineKeyboardMarkup | None) -> None:
        try:
            await message.edit_text(
                html,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=NO_PREVIEW,
            )
        except BadRequest as exc:
            # Pressing the same button twice edits to identical content: nothing to do.
            if "not modified" not in str(exc).lower():
                raise

    async def _call(
        self, call: Awaitable[T], bot: Bot, chat_id: int, reply_to: Message | None = None
    ) -> T | None:
        """Await a backend call; a domain error becomes a Catalan reply and None."""
        try:
            return await call
        except ConcertaError as exc:
            logger.info("Backend refused a request: %s", type(exc).__name__)
            text = _error_text(exc)
        if reply_to is not None:
            await reply_to.reply_text(text)
        else:
            await bot.send_message(chat_id, text)
        return None

    async def _reply_too_long(self, message: Message, length: int) -> None:
        await message.reply_text(texts.TOO_LONG.format(length=length, limit=MAX_QUESTION_CHARS))

    def _lock(self, chat_id: int) -> asyncio.Lock:
        return self._chat_locks.setdefault(chat_id, asyncio.Lock())

    @contextlib.asynccontextmanager
    async def _typing(self, bot: Bot, chat_id: int) -> AsyncIterator[None]:
        """Show "typing…" until the block ends (renewed, since it fades after 5 s)."""

        async def keep_typing() -> None:
            while True:
                try:
                    await bot.send_chat_action(chat_id, ChatAction.TYPING)
                except TelegramError as exc:  # cosmetic: never fail an answer for it
                    logger.debug("Chat action failed: %s", type(exc).__name__)
                await asyncio.sleep(TYPING_INTERVAL)

        task = asyncio.create_task(keep_typing())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _error_text(exc: ConcertaError) -> str:
    if isinstance(exc, QueryError) and str(exc):
        return str(exc)  # domain errors carry a Catalan message for the user
    if isinstance(exc, IndexNotReadyError):
        return texts.INDEX_NOT_READY
    if isinstance(exc, BackendUnavailableError):
        return texts.BACKEND_UNAVAILABLE
    return texts.UNEXPECTED_ERROR
