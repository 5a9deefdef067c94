"""Inline keyboards on the bot's messages, checked as Telegram checks them (buttons need
``text`` and exactly one action; ``callback_data`` 1-64 bytes), and stored as sent."""

from __future__ import annotations

from typing import Any

from sandbox.telegram.protocol import ApiError, bad_request

CALLBACK_DATA_LIMIT = 64  # bytes
# The fields of an InlineKeyboardButton of which exactly one must be set.
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def _button_error(detail: str) -> ApiError:
    return bad_request(f"can't parse inline keyboard button: {detail}")


def inline_keyboard(markup: Any) -> dict[str, Any] | None:
    """The InlineKeyboardMarkup to store with a message (None for no inline keyboard),
    or :class:`ApiError` 400 with Telegram's description for a malformed one."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return None  # a reply keyboard, keyboard removal or force reply: not modelled
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays')
    keyboard = []
    for row in rows:
        kept_row = []
        for button in row:
            if not isinstance(button, dict):
                raise _button_error("InlineKeyboardButton should be an Object")
            if "text" not in button:
                raise _button_error('Can\'t find field "text"')
            if not isinstance(button["text"], str):
                raise _button_error('Field "text" must be of type String')
            actions = [name for name in _BUTTON_ACTIONS if button.get(name) is not None]
            if not actions:
                raise _button_error("Text buttons are unallowed in the inline keyboard")
            if "callback_data" in actions:
                data = button["callback_data"]
                if not isinstance(data, str):
                    raise _button_error('Field "callback_data" must be of type String')
                if not 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
                    raise bad_request("BUTTON_DATA_INVALID")
            if "url" in actions:
                if not isinstance(button["url"], str):
                    raise _button_error('Field "url" must be of type String')
                if not button["url"].startswith(("http://", "https://", "tg://")):
                    raise bad_request("BUTTON_URL_INVALID")
            kept_row.append({key: value for key, value in button.items() if value is not None})
        if kept_row:
            keyboard.append(kept_row)
    return {"inline_keyboard": keyboard}
