"""Checking the parsed links file field by field: each problem names the field
(as a path such as ``links[0].communities[1]``) and a fix."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..languages import is_language
from ..models import PLATFORMS, ChatRef
from .model import BUILTIN_POLICIES, POLICY_FIELDS, Community, Link, LinksConfig, Policy
from .problems import Problem
from .schema import (
    CONSENT_MODES,
    DIRECTIONS,
    LINK_MODES,
    MAX_NAME,
    MAX_USER_ID,
    MEDIA_MODES,
    MENTION_MODES,
    MODERATION_MODES,
    PROVIDERS,
    REDACTIONS,
    SELF_HOSTED_PROVIDERS,
    SENDER_MODES,
    SLUG,
)
from .suggestions import field_key, show, suggest


# Optional fields of a chat entry besides its `platform: id` pair.
CHAT_OPTIONS = ("topics",)


class Checker:
    """Collects every problem in a parsed links file and builds the config from what is valid."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        self._topics: dict[ChatRef, bool] = {}  # chats whose entry says `topics:`

    def problem(self, where: str, message: str, fix: str) -> None:
        self.problems.append(Problem(self.file, where, message, fix))

    # -- top level -----------------------------------------------------------
    def check(self, data: Any, *, pseudonym_key: str | None, strict_secrets: bool) -> LinksConfig | None:
        if not isinstance(data, dict):
            self.problem(
                "(top level)",
                "expected a mapping with version, communities and links",
                "start from config/links.example.yaml",
            )
            return None
        self._unknown_keys(data, "(top level)", ("version", "communities", "links", "policies"))
        version = data.get("version")
        if isinstance(version, bool) or version != 1:
            self.problem("version", f"expected 1, got {show(version)}", "write `version: 1` at the top")
        policies = self._policies(data.get("policies"))
        communities = self._communities(data.get("communities"))
        links = self._links(data.get("links"), communities, policies)
        if strict_secrets and not pseudonym_key:
            for i, link in enumerate(links):
                if link.policy.sender == "pseudonym":
                    self.problem(
                        f"links[{i}].policy",
                        f"policy '{link.policy.name}' shows senders by pseudonym, "
                        "but TWINBRIDGE_PSEUDONYM_KEY is not set",
                        "set TWINBRIDGE_PSEUDONYM_KEY to a long random secret (e.g. `openssl rand -hex 32`) "
                        "in the environment or .env",
                    )
        return LinksConfig(
            path=Path(self.file),
            communities=communities,
            links=tuple(links),
            policies=policies,
            topic_choices=tuple(self._topics.items()),
        )

    def _unknown_keys(self, mapping: dict[str, Any], where: str, allowed: tuple[str, ...]) -> None:
        for key in mapping:
            if key not in allowed:
                self.problem(
                    f"{where}.{field_key(key)}" if where != "(top level)" else field_key(key),
                    "unknown field",
                    f"remove it, or {suggest(key, allowed)}",
                )

    # -- communities ---------------------------------------------------------
    def _communities(self, raw: Any) -> dict[str, Community]:
        if not isinstance(raw, dict) or not raw:
            self.problem(
                "communities",
                "expected a mapping of community ids to communities",
                "add at least two communities, e.g. `leicester: {name: Leicester, language: en, "
                "chats: [{telegram: -1001234567890}]}`",
            )
            return {}
        result: dict[str, Community] = {}
        seen_chats: dict[ChatRef, str] = {}
        for cid, body in raw.items():
            where = f"communities.{field_key(cid)}"
            if not isinstance(cid, str) or not SLUG.match(cid):
                self.problem(
                    where,
                    "a community id must be lower-case letters, digits, '-' or '_'",
                    "rename it, e.g. `leicester`",
                )
                continue
            if not isinstance(body, dict):
                self.problem(where, "expected a mapping with name, language and chats", "see config/links.example.yaml")
                continue
            self._unknown_keys(body, where, ("name", "language", "chats", "timezone", "organisers"))
            name = body.get("name")
            if not isinstance(name, str) or not name.strip():
                self.problem(f"{where}.name", "missing, empty or not text", f"add `name: {cid.title()}`")
                name = cid
            elif len(name.strip()) > MAX_NAME:
                self.problem(
                    f"{where}.name",
                    f"longer than {MAX_NAME} characters",
                    f"shorten it to at most {MAX_NAME} characters (it labels every relayed post)",
                )
                name = name.strip()[:MAX_NAME]
            language = body.get("language")
            if not isinstance(language, str) or len(language) > 15 or not is_language(language):
                self.problem(
                    f"{where}.language",
                    f"{show(language)} is not a language code",
                    "use an ISO 639-1 code such as en, de, fr, es, zh, gu (or zh-CN, pt-BR)",
                )
                language = "und"
            chats = self._chats(body.get("chats"), f"{where}.chats", cid, seen_chats)
            timezone = self._timezone(body.get("timezone", "UTC"), f"{where}.timezone")
            organisers = self._users(body.get("organisers", []), f"{where}.organisers", "organisers")
            result[cid] = Community(
                id=cid,
                name=name.strip(),
                language=language,
                chats=tuple(chats),
                timezone=timezone,
                organisers=organisers or (),
            )
        return result

    def _timezone(self, value: Any, at: str) -> str:
        if isinstance(value, str) and len(value) <= 64 and re.fullmatch(r"[A-Za-z0-9_+/-]+", value):
            try:
                zoneinfo.ZoneInfo(value)
                return value
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                pass
        self.problem(
            at,
            f"{show(value)} is not a time zone",
            "use an IANA name such as Europe/Berlin, America/Managua or Asia/Kolkata (default UTC)",
        )
        return "UTC"

    def _users(self, value: Any, at: str, key: str) -> tuple[str, ...] | None:
        """A list of "platform:user id" references (moderators, organisers)."""
        if not isinstance(value, list):
            self.problem(at, "expected a list", f'write `{key}: ["telegram:111", "discord:222"]`')
            return None
        good = []
        for v in value:
            platform, _, uid = v.partition(":") if isinstance(v, str) else ("", "", "")
            if platform not in PLATFORMS or not re.fullmatch(rf"[0-9]{{1,{MAX_USER_ID}}}", uid):
                self.problem(
                    at,
                    f"{show(v)} is not a user",
                    f'write {key} as "telegram:<user id>" or "discord:<user id>" (the numeric id, at most 20 digits)',
                )
            else:
                good.append(f"{platform}:{uid}")
        return tuple(good)

    def _chats(self, raw: Any, where: str, cid: str, seen: dict[ChatRef, str]) -> list[ChatRef]:
        if not isinstance(raw, list) or not raw:
            self.problem(
                where,
                "expected a list of chats",
                "add e.g. `- telegram: -1001234567890` or `- discord: 112233445566778899` (the channel id)",
            )
            return []
        chats = []
        for i, entry in enumerate(raw):
            at = f"{where}[{i}]"
            pairs = {k: v for k, v in entry.items() if k not in CHAT_OPTIONS} if isinstance(entry, dict) else {}
            if not isinstance(entry, dict) or len(pairs) != 1:
                self.problem(at, "each chat is one `platform: id` pair", "write `- telegram: -1001234567890`")
                continue
            platform, value = next(iter(pairs.items()))
            if "topics" in entry and not isinstance(entry["topics"], bool):
                self.problem(
                    f"{at}.topics",
                    f"{show(entry['topics'])} is not true or false",
                    "write `topics: true` (threads and forum topics get their twins here; the default "
                    "for a forum group or a Discord channel) or `topics: false` (they arrive under a 🧵 line)",
                )
                continue
            if platform not in PLATFORMS:
                self.problem(f"{at}.{field_key(platform)}", "unknown platform", suggest(platform, PLATFORMS))
                continue
            chat_id = self._chat_id(platform, value, f"{at}.{platform}")
            if chat_id is None:
                continue
            chat = ChatRef(platform, chat_id)
            if chat in seen:
                self.problem(
                    f"{at}.{platform}",
                    f"chat {chat_id} is already listed under community '{seen[chat]}'",
                    "a chat belongs to exactly one community; remove one of the entries",
                )
                continue
            seen[chat] = cid
            chats.append(chat)
            if "topics" in entry:
                self._topics[chat] = entry["topics"]
        return chats

    def _chat_id(self, platform: str, value: Any, at: str) -> str | None:
        text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
        if platform == "telegram":
            if not re.fullmatch(r"-?\d{1,16}", text) or int(text) == 0:
                self.problem(
                    at,
                    f"{show(value)} is not a Telegram chat id",
                    "use the numeric chat id, e.g. -1001234567890 for a supergroup "
                    "(forward a message to @userinfobot or read getUpdates to find it)",
                )
                return None
            return str(int(text))
        if not re.fullmatch(r"\d{17,20}", text):
            self.problem(
                at,
                f"{show(value)} is not a Discord channel id",
                "use the channel's numeric id (17-20 digits): Developer Mode on, right-click the "
                "channel, Copy Channel ID",
            )
            return None
        return text

    # -- policies ------------------------------------------------------------
    def _policies(self, raw: Any) -> dict[str, Policy]:
        policies = dict(BUILTIN_POLICIES)
        if raw is None:
            return policies
        if not isinstance(raw, dict):
            self.problem(
                "policies",
                "expected a mapping of policy names to fields",
                "e.g. `policies: {school: {retention_days: 14}}`",
            )
            return policies
        for name, body in raw.items():
            where = f"policies.{field_key(name)}"
            if not isinstance(name, str) or not SLUG.match(name):
                self.problem(
                    where,
                    "a policy name must be lower-case letters, digits, '-' or '_'",
                    "rename it, e.g. `school-strict`",
                )
                continue
            if not isinstance(body, dict):
                self.problem(where, "expected a mapping of policy fields", f"fields are: {', '.join(POLICY_FIELDS)}")
                continue
            base_name = body.get("base", name if name in BUILTIN_POLICIES else "community")
            if not isinstance(base_name, str) or base_name not in BUILTIN_POLICIES:
                self.problem(
                    f"{where}.base",
                    f"unknown built-in policy {show(base_name)}",
                    suggest(base_name, tuple(BUILTIN_POLICIES)),
                )
                base_name = "community"
            self._unknown_keys(body, where, POLICY_FIELDS + ("base",))
            policy = replace(BUILTIN_POLICIES[base_name], name=name)
            changes = {}
            for key, value in body.items():
                if key in POLICY_FIELDS:
                    checked = self._policy_field(key, value, f"{where}.{key}")
                    if checked is not None:
                        changes[key] = checked
            policy = replace(policy, **changes)
            if policy.translation_cache_days > policy.retention_days:
                self.problem(
                    f"{where}.translation_cache_days",
                    f"a cached translation would outlive the policy's retention ({policy.retention_days} days)",
                    f"use at most {policy.retention_days}, or 0 for no cache",
                )
            approving = [f for f in ("moderation", "media") if getattr(policy, f) == "approve"]
            if approving and not policy.moderators:
                self.problem(
                    f"{where}.moderators",
                    f"{approving[0]} is `approve` but no moderator is listed",
                    'list who approves, e.g. `moderators: ["telegram:111", "discord:222"]`',
                )
            if base_name == "school" or name == "school":
                outside = [p for p in policy.translation if p not in SELF_HOSTED_PROVIDERS]
                if outside:
                    self.problem(
                        f"{where}.translation",
                        f"a school policy lets only the self-hosted translator see pupils' text, "
                        f"not {', '.join(outside)}",
                        "use `translation: [libre]`",
                    )
            policies[name] = policy
        return policies

    def _policy_field(self, key: str, value: Any, at: str) -> Any:
        enums = {
            "sender": SENDER_MODES,
            "media": MEDIA_MODES,
            "links": LINK_MODES,
            "mentions": MENTION_MODES,
            "consent": CONSENT_MODES,
            "moderation": MODERATION_MODES,
        }
        if key in enums:
            if value not in enums[key]:
                self.problem(at, f"{show(value)} is not allowed", suggest(value, enums[key]))
                return None
            return value
        if key == "moderators":
            return self._users(value, at, key)
        if key in ("redact", "translation"):
            if not isinstance(value, list):
                self.problem(at, "expected a list", f"write `{key}: [...]`")
                return None
            if key == "redact":
                bad = [v for v in value if v not in REDACTIONS]
                for v in bad:
                    self.problem(at, f"{show(v)} is not something the bridge can redact", suggest(v, REDACTIONS))
                return None if bad else tuple(value)
            if key == "translation":
                bad = [v for v in value if v not in PROVIDERS]
                for v in bad:
                    self.problem(at, f"{show(v)} is not a translation provider", suggest(v, PROVIDERS))
                if not bad and len(set(value)) != len(value):
                    self.problem(at, "a provider is listed twice", "list each provider once")
                return None if bad else tuple(value)
        if key == "show_original":
            if not isinstance(value, bool):
                self.problem(at, f"{show(value)} is not true or false", "write `show_original: true` or `false`")
                return None
            return value
        if key in ("retention_days", "translation_cache_days"):
            low = 1 if key == "retention_days" else 0
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 3650:
                self.problem(at, f"{show(value)} is not a number of days", f"use a whole number from {low} to 3650")
                return None
            return value
        return None  # pragma: no cover - every policy field is handled above

    # -- links ---------------------------------------------------------------
    def _links(self, raw: Any, communities: dict[str, Community], policies: dict[str, Policy]) -> list[Link]:
        if not isinstance(raw, list) or not raw:
            self.problem(
                "links",
                "expected a list of links",
                "add e.g. `- {id: leicester-krefeld, communities: "
                "[leicester, krefeld], direction: both, policy: community}`",
            )
            return []
        result: list[Link] = []
        seen_ids: set[str] = set()
        for i, body in enumerate(raw):
            where = f"links[{i}]"
            if not isinstance(body, dict):
                self.problem(
                    where,
                    "expected a mapping with id, communities, direction and policy",
                    "see config/links.example.yaml",
                )
                continue
            self._unknown_keys(body, where, ("id", "communities", "direction", "policy", "glossary", "organisers"))
            link_id = body.get("id")
            if not isinstance(link_id, str) or not SLUG.match(link_id):
                self.problem(
                    f"{where}.id",
                    f"{show(link_id)} is not a valid link id",
                    "use lower-case letters, digits and '-', e.g. `leicester-krefeld`",
                )
                link_id = f"link-{i}"
            elif link_id in seen_ids:
                self.problem(f"{where}.id", f"link id '{link_id}' is used twice", "give each link its own id")
            seen_ids.add(link_id)
            members = body.get("communities")
            ok_members: list[str] = []
            if not isinstance(members, list) or len(members) < 2:
                self.problem(
                    f"{where}.communities",
                    "a link joins two or more communities",
                    "write e.g. `communities: [leicester, krefeld]`",
                )
            else:
                for j, cid in enumerate(members):
                    if not isinstance(cid, str) or cid not in communities:
                        self.problem(
                            f"{where}.communities[{j}]",
                            f"unknown community {show(cid)}",
                            suggest(cid, tuple(communities)),
                        )
                    elif cid in ok_members:
                        self.problem(
                            f"{where}.communities[{j}]",
                            f"community '{cid}' is listed twice",
                            "list each community once",
                        )
                    else:
                        ok_members.append(cid)
            direction = body.get("direction", "both")
            if direction not in DIRECTIONS:
                self.problem(
                    f"{where}.direction", f"{show(direction)} is not a direction", suggest(direction, DIRECTIONS)
                )
                direction = "both"
            policy_name = body.get("policy", "community")
            policy = policies.get(policy_name) if isinstance(policy_name, str) else None
            if policy is None:
                self.problem(
                    f"{where}.policy",
                    f"unknown policy {show(policy_name)}",
                    f"{suggest(policy_name, tuple(policies))}, or define it under `policies:`",
                )
                policy = BUILTIN_POLICIES["community"]
            glossary = self._glossary(body.get("glossary", []), f"{where}.glossary")
            organisers = self._users(body.get("organisers", []), f"{where}.organisers", "organisers")
            if len(ok_members) >= 2:
                result.append(
                    Link(
                        id=link_id,
                        communities=tuple(ok_members),
                        direction=direction,
                        policy=policy,
                        glossary=glossary,
                        organisers=organisers or (),
                    )
                )
        return result

    def _glossary(self, raw: Any, at: str) -> tuple[str, ...]:
        if not isinstance(raw, list):
            self.problem(
                at, "expected a list of words and names", "write e.g. `glossary: [Krefeld, Hochschule Niederrhein]`"
            )
            return ()
        terms = []
        for i, term in enumerate(raw):
            if (
                isinstance(term, bool)
                or not isinstance(term, (str, int))
                or not str(term).strip()
                or len(str(term)) > 100
            ):
                self.problem(
                    f"{at}[{i}]", f"{show(term)} is not a word or name", "write each term as text, up to 100 characters"
                )
            else:
                terms.append(str(term).strip())
        return tuple(terms)
