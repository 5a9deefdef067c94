"""Request bodies checked as Discord checks them: message content, components
(action rows of buttons), application commands, webhook names. Each check raises
:class:`~sandbox.discord.protocol.FormError` (or another Discord error) or returns
what is stored."""

from __future__ import annotations

import copy
import re
from typing import Any

from aiohttp import web

from sandbox.discord.protocol import (
    BUTTON_STYLE_LINK,
    BUTTON_STYLE_PREMIUM,
    COMPONENT_ACTION_ROW,
    COMPONENT_BUTTON,
    JSON_BODY,
    MAX_ACTION_ROWS,
    MAX_BUTTON_LABEL,
    MAX_COMMAND_OPTIONS,
    MAX_COMMANDS,
    MAX_CONTENT,
    MAX_CUSTOM_ID,
    MAX_ROW_WIDTH,
    SELECT_TYPES,
    DiscordError,
    FormError,
)

COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")
FORBIDDEN_NAME = re.compile(r"discord|clyde", re.IGNORECASE)


def check_content(body: dict) -> None:
    content = body.get("content")
    if content is not None and not isinstance(content, str):
        raise FormError(("content",), "STRING_TYPE_CONVERT", "Could not interpret the value as string.")
    if content and len(content) > MAX_CONTENT:
        raise FormError(("content",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length.")
    if (
        not (content or "").strip()
        and not body.get("embeds")
        and not body.get("sticker_ids")
        and not body.get("attachments")
        and not body.get("poll")
    ):
        raise DiscordError(400, "Cannot send an empty message", 50006)


def message_body(request: web.Request) -> dict:
    """The JSON body of a message to create (bot, webhook or interaction routes)."""
    body = request[JSON_BODY]
    if not isinstance(body, dict):
        raise DiscordError(400, "Cannot send an empty message", 50006)
    check_content(body)
    components(body.get("components"))
    return body


def check_name(field_name: str, name: str, *, strip: bool = False) -> None:
    """A webhook's name, or a webhook post's username (whose length Discord counts ``strip``ped)."""
    if not 1 <= len(name.strip() if strip else name) <= 80:
        raise FormError((field_name,), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length.")
    match = FORBIDDEN_NAME.search(name)
    if match:
        raise FormError(
            (field_name,), "USERNAME_INVALID_CONTAINS", f'Username cannot contain "{match.group(0).lower()}"'
        )


def components(raw: Any) -> list[dict]:
    """Action rows of buttons (and select menus, kept as given) checked as Discord checks
    them; returns them as stored, each component numbered (``id``) like Discord does."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise FormError(("components",), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
    if len(raw) > MAX_ACTION_ROWS:
        raise FormError(("components",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_ACTION_ROWS} or fewer in length.")
    rows = copy.deepcopy(raw)
    custom_ids: set[str] = set()
    next_id = 1
    for r, row in enumerate(rows):
        where: tuple = ("components", r)
        if not isinstance(row, dict) or row.get("type") != COMPONENT_ACTION_ROW:
            raise FormError(where + ("type",), "UNION_TYPE_CHOICES", 'Value of field "type" must be one of (1,).')
        children = row.get("components")
        if not isinstance(children, list) or not 1 <= len(children) <= MAX_ROW_WIDTH:
            raise FormError(
                where + ("components",), "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_ROW_WIDTH} in length."
            )
        row.setdefault("id", next_id)
        next_id = max(next_id, int(row["id"])) + 1
        for c, child in enumerate(children):
            at = where + ("components", c)
            kind = child.get("type") if isinstance(child, dict) else None
            if kind != COMPONENT_BUTTON and kind not in SELECT_TYPES:
                raise FormError(
                    at + ("type",), "UNION_TYPE_CHOICES", 'Value of field "type" must be one of (2, 3, 5, 6, 7, 8).'
                )
            if kind in SELECT_TYPES and len(children) > 1:
                raise FormError(
                    at, "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "The specified component exceeds the maximum width"
                )
            style = child.get("style")
            if kind == COMPONENT_BUTTON and style not in (1, 2, 3, 4, 5, 6):
                raise FormError(at + ("style",), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6}.")
            label = child.get("label")
            if label is not None and (not isinstance(label, str) or len(label) > MAX_BUTTON_LABEL):
                raise FormError(
                    at + ("label",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_BUTTON_LABEL} or fewer in length."
                )
            if kind == COMPONENT_BUTTON and style == BUTTON_STYLE_LINK:
                if not child.get("url"):
                    raise FormError(at + ("url",), "BASE_TYPE_REQUIRED", "This field is required")
            elif kind != COMPONENT_BUTTON or style != BUTTON_STYLE_PREMIUM:
                custom_id = child.get("custom_id")
                if custom_id is None:
                    raise FormError(at + ("custom_id",), "BASE_TYPE_REQUIRED", "This field is required")
                if not isinstance(custom_id, str) or not custom_id:
                    raise FormError(
                        at + ("custom_id",), "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_CUSTOM_ID} in length."
                    )
                if len(custom_id) > MAX_CUSTOM_ID:
                    raise FormError(
                        at + ("custom_id",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CUSTOM_ID} or fewer in length."
                    )
                if custom_id in custom_ids:
                    raise FormError(
                        at + ("custom_id",),
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    )
                custom_ids.add(custom_id)
            child.setdefault("id", next_id)
            next_id = max(next_id, int(child["id"])) + 1
    return rows


def _check_options(options: Any, path: tuple) -> None:
    if options is None:
        return
    if not isinstance(options, list):
        raise FormError(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
    if len(options) > MAX_COMMAND_OPTIONS:
        raise FormError(path, "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_COMMAND_OPTIONS} or fewer in length.")
    optional_seen = False
    for index, option in enumerate(options):
        at = path + (index,)
        if not isinstance(option, dict):
            raise FormError(at, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        if option.get("type") not in range(1, 12):
            raise FormError(
                at + ("type",), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}."
            )
        name = option.get("name")
        if not isinstance(name, str) or not COMMAND_NAME.match(name) or name != name.lower():
            raise FormError(at + ("name",), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        description = option.get("description")
        if not isinstance(description, str) or not 1 <= len(description) <= 100:
            raise FormError(at + ("description",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        if option["type"] in (1, 2):
            _check_options(option.get("options"), at + ("options",))
        elif option.get("required"):
            if optional_seen:
                raise FormError(
                    at + ("required",),
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            optional_seen = True


# The locales Discord accepts in name_localizations and description_localizations.
LOCALES = frozenset(
    "id da de en-GB en-US es-ES es-419 fr hr it lt hu nl no pl pt-BR ro fi sv-SE vi tr cs el bg ru uk hi "
    "th zh-CN ja zh-TW ko".split()
)


def _check_localizations(value: Any, path: tuple, limit: int) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise FormError(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    for locale, text in value.items():
        if locale not in LOCALES:
            raise FormError((*path, locale), "LOCALE_INVALID", f"Invalid locale: {locale}")
        if not isinstance(text, str) or not 1 <= len(text) <= limit:
            raise FormError((*path, locale), "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {limit} in length.")


def check_commands(body: Any) -> None:
    """A bulk overwrite body as Discord checks it (names, descriptions, options, duplicates)."""
    if not isinstance(body, list):
        raise FormError((), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
    if len(body) > MAX_COMMANDS:
        raise FormError((), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_COMMANDS} or fewer in length.")
    seen: set[tuple[int, str]] = set()
    for index, command in enumerate(body):
        if not isinstance(command, dict):
            raise FormError((index,), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        kind = command.get("type") or 1
        if kind not in (1, 2, 3):
            raise FormError((index, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3}.")
        name = command.get("name")
        if not isinstance(name, str) or not name:
            raise FormError((index, "name"), "BASE_TYPE_REQUIRED", "This field is required")
        if kind == 1:  # slash commands: lower-case names and a description
            if not COMMAND_NAME.match(name) or name != name.lower():
                raise FormError((index, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 100:
                raise FormError((index, "description"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
            _check_options(command.get("options"), (index, "options"))
            _check_localizations(command.get("description_localizations"), (index, "description_localizations"), 100)
        elif len(name) > 32:
            raise FormError((index, "name"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
        _check_localizations(command.get("name_localizations"), (index, "name_localizations"), 32)
        if (kind, name) in seen:
            raise FormError(
                (index, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique"
            )
        seen.add((kind, name))
