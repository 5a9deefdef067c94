"""Loading and validating `config/links.yaml` (the configuration contract).

Every problem is collected, not just the first, and each names the file, the
field (as a path such as ``links[0].communities[1]``) and a fix. The result is
a tree of frozen dataclasses; the config is an allow-list: a chat it does not
name is never relayed.
"""
from __future__ import annotations

import difflib
import re
import zoneinfo
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from .languages import is_language
from .models import PLATFORMS, ChatRef

SENDER_MODES = ("full", "first_name", "initials", "pseudonym", "hidden")
REDACTIONS = ("email", "phone", "url", "handle", "postcode", "iban", "card", "ip")
MEDIA_MODES = ("allow", "images", "block")
LINK_MODES = ("allow", "block")
MENTION_MODES = ("none", "allow")
CONSENT_MODES = ("none", "opt_in")
MODERATION_MODES = ("none", "profanity", "approve")
DIRECTIONS = ("both", "one-way")
SELF_HOSTED_PROVIDERS = ("libre",)
# libre is spoken to directly; the others are deep-translator's sentence
# translators (its word dictionaries, pons and linguee, cannot translate messages).
PROVIDERS = ("libre", "google", "mymemory", "microsoft", "deepl", "yandex", "papago", "baidu", "qcri")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# Bounds on what the file may make us hold: its size, the nodes its anchors and
# aliases expand to (a "billion laughs" file is a few hundred bytes that expand
# to 10^9 strings), how deeply it nests, and the length of each name.
MAX_FILE_BYTES = 1024 * 1024
MAX_EXPANDED_NODES = 100_000
MAX_DEPTH = 40
MAX_NAME = 64  # a community's name (shown in every relayed post's label)
MAX_USER_ID = 20  # digits of a platform user id (Discord snowflakes have up to 20)


@dataclass(frozen=True)
class Policy:
    name: str
    sender: str = "full"
    redact: tuple[str, ...] = ()
    media: str = "allow"
    links: str = "allow"
    mentions: str = "none"
    translation: tuple[str, ...] = ("libre",)
    show_original: bool = False
    consent: str = "none"
    moderation: str = "none"
    moderators: tuple[str, ...] = ()
    retention_days: int = 30
    # Added to the contract: days a translation may be cached (0: never, the
    # default, as message text is personal data); at most retention_days.
    translation_cache_days: int = 0


BUILTIN_POLICIES: dict[str, Policy] = {
    # Adults who know each other; still never pings anyone across the bridge.
    "open": Policy(
        name="open", sender="full", redact=(), media="allow", links="allow",
        mentions="none", translation=("libre", "google", "mymemory"), show_original=False,
        consent="none", moderation="none", retention_days=30,
    ),
    # The default for associations: first names, obvious personal data removed.
    "community": Policy(
        name="community", sender="first_name", redact=("email", "phone", "iban", "card"),
        media="images", links="allow", mentions="none", translation=("libre", "mymemory"),
        show_original=False, consent="none", moderation="profanity", retention_days=30,
    ),
    # Children: pseudonyms, everything personal removed, self-hosted translator
    # only, consent and a teacher's approval before anything crosses.
    "school": Policy(
        name="school", sender="pseudonym", redact=REDACTIONS, media="block", links="block",
        mentions="none", translation=("libre",), show_original=True, consent="opt_in",
        moderation="approve", retention_days=7,
    ),
}
POLICY_FIELDS = tuple(f.name for f in fields(Policy) if f.name != "name")


@dataclass(frozen=True)
class Community:
    id: str
    name: str
    language: str
    chats: tuple[ChatRef, ...]
    timezone: str = "UTC"  # IANA name; event times are shown in it
    organisers: tuple[str, ...] = ()  # "platform:user id", besides the chats' admins


@dataclass(frozen=True)
class Link:
    id: str
    communities: tuple[str, ...]
    direction: str
    policy: Policy
    # Added to the contract: words never translated (town, school and people's
    # names); the communities' own names are always kept as well.
    glossary: tuple[str, ...] = ()

    def speakers(self) -> tuple[str, ...]:
        """Communities whose messages cross: all of them, or the first for one-way."""
        return self.communities if self.direction == "both" else self.communities[:1]


@dataclass(frozen=True)
class Membership:
    """A chat's place in one link."""

    link: Link
    community: Community


@dataclass(frozen=True)
class LinksConfig:
    path: Path
    communities: dict[str, Community]
    links: tuple[Link, ...]
    policies: dict[str, Policy] = field(default_factory=dict)

    @cached_property
    def _memberships(self) -> dict[ChatRef, tuple[Membership, ...]]:
        # Built once: every event asks, and a deployment may have hundreds of links.
        found: dict[ChatRef, list[Membership]] = {}
        for link in self.links:
            for community_id in link.communities:
                community = self.communities[community_id]
                for chat in community.chats:
                    found.setdefault(chat, []).append(Membership(link, community))
        return {chat: tuple(m) for chat, m in found.items()}

    @cached_property
    def _links_by_id(self) -> dict[str, Link]:
        return {link.id: link for link in self.links}

    @cached_property
    def _community_by_chat(self) -> dict[ChatRef, Community]:
        return {chat: community for community in self.communities.values() for chat in community.chats}

    def memberships(self, chat: ChatRef) -> list[Membership]:
        """Every link this chat takes part in (empty: an unknown chat)."""
        return list(self._memberships.get(chat, ()))

    def retention_days(self, chat: ChatRef) -> int:
        """The shortest retention among the links this chat is in (what bounds
        every trace of its messages); the default policy's for an unknown chat."""
        days = [m.link.policy.retention_days for m in self.memberships(chat)]
        return min(days) if days else BUILTIN_POLICIES["community"].retention_days

    def glossary(self, link: Link) -> tuple[str, ...]:
        """What a link's translations keep as written: its glossary and its communities' names."""
        names = tuple(self.communities[c].name for c in link.communities)
        return tuple(dict.fromkeys(link.glossary + names))

    def languages(self, link: Link) -> tuple[str, ...]:
        """The languages the link's communities write, each once, in order."""
        return tuple(dict.fromkeys(self.communities[c].language for c in link.communities))

    def languages_around(self, chat: ChatRef) -> tuple[str, ...]:
        """The languages of every community this chat's links join (where a
        message from it is most likely written in)."""
        return tuple(dict.fromkeys(lang for m in self.memberships(chat) for lang in self.languages(m.link)))

    def community_of(self, chat: ChatRef) -> Community | None:
        return self._community_by_chat.get(chat)

    def chats(self, platform: str | None = None) -> list[ChatRef]:
        return [
            chat
            for community in self.communities.values()
            for chat in community.chats
            if platform is None or chat.platform == platform
        ]

    def link(self, link_id: str) -> Link | None:
        return self._links_by_id.get(link_id)


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}\n    fix: {self.fix}"


class ConfigError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class _TooComplex(yaml.YAMLError):
    def __init__(self, message: str, fix: str, mark=None):
        super().__init__(message)
        self.message, self.fix, self.mark = message, fix, mark


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing documents that nest too deeply or whose
    aliases expand to too many nodes, before anything is built from them (the
    composer shares an aliased node, so counting costs one pass over distinct nodes)."""

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooComplex(f"nested more than {MAX_DEPTH} levels deep",
                                  "a links file needs a handful of levels; remove the extra brackets or indentation",
                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self):
        node = super().compose_document()
        _check_expansion(node)
        return node


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_expansion(root: yaml.Node) -> None:
    """Raise :class:`_TooComplex` if the document, with every alias written out,
    would exceed MAX_EXPANDED_NODES nodes, or if an alias refers to itself."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_EXPANDED_NODES:
                raise _TooComplex(f"its anchors and aliases expand to more than {MAX_EXPANDED_NODES:,} values "
                                  "(an alias bomb?)", "write the repeated parts out, or nest fewer aliases "
                                  "(`*name`) inside anchored parts", node.start_mark)
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise _TooComplex("an alias refers to the node it is inside of (a loop)",
                              "use aliases (`*name`) only for parts defined before and outside them",
                              node.start_mark)
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)


def _read_yaml(path: Path) -> Any:
    """The parsed file, or :class:`ConfigError` (missing, too large, unreadable, bad YAML, bombs)."""
    file = str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise ConfigError([Problem(file, "(file)", f"too large (over {MAX_FILE_BYTES // 1024} KiB)",
                                       "a links file is a few kilobytes: check that this is the right file, "
                                       "or split very large deployments into several installs")])
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem(file, "(file)", "the file does not exist",
                                   "create it from config/links.example.yaml, or pass --config PATH "
                                   "/ set TWINBRIDGE_CONFIG")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(file, "(file)", f"cannot be read: {exc.__class__.__name__}",
                                   "make it a readable UTF-8 text file")]) from None
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader with bounds
    except _TooComplex as exc:
        where = f"line {exc.mark.line + 1}, column {exc.mark.column + 1}" if exc.mark else "(file)"
        raise ConfigError([Problem(file, where, f"refused: {exc.message}", exc.fix)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(syntax)"
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError([Problem(file, where, f"YAML syntax error: {problem}",
                                   "check indentation (spaces, not tabs) and quoting near that line")]) from None
    except (ValueError, OverflowError, RecursionError) as exc:  # e.g. a date like 2024-13-45, a 5000-digit number
        raise ConfigError([Problem(file, "(file)", f"a value cannot be read ({exc.__class__.__name__})",
                                   "quote values that are meant as text, e.g. `name: \"2024-13-45\"`")]) from None


def _show(value: Any, limit: int = 40) -> str:
    """A value for a problem message: its repr, shortened (a hostile file may hold megabytes)."""
    text = repr(value) if isinstance(value, (str, int, float, bool, type(None))) else \
        f"a {'list' if isinstance(value, list) else 'mapping' if isinstance(value, dict) else type(value).__name__}"
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _key(value: Any) -> str:
    """A mapping key as part of a field path, shortened."""
    text = str(value) if isinstance(value, (str, int, float, bool, type(None))) else _show(value)
    return text if len(text) <= 40 else text[:39] + "…"


def load_links(path: str | Path, *, pseudonym_key: str | None = None, strict_secrets: bool = False) -> LinksConfig:
    """Load and validate; raise :class:`ConfigError` listing every problem.

    ``strict_secrets``: also require the secrets a policy needs (the pseudonym
    key), as `twinbridge check` and the workers do.
    """
    path = Path(path)
    checker = _Checker(str(path))
    data = _read_yaml(path)
    config = checker.check(data, pseudonym_key=pseudonym_key, strict_secrets=strict_secrets)
    if checker.problems:
        raise ConfigError(checker.problems)
    assert config is not None
    return replace(config, path=path)


def _suggest(value: Any, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(_key(value), [str(c) for c in choices], n=1) \
        if isinstance(value, (str, int)) else []
    listed = ", ".join(str(c) for c in choices) if choices else "(none defined)"
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"use one of: {listed}{hint}"


class _Checker:
    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, where: str, message: str, fix: str) -> None:
        self.problems.append(Problem(self.file, where, message, fix))

    # -- top level -----------------------------------------------------------
    def check(self, data: Any, *, pseudonym_key: str | None, strict_secrets: bool) -> LinksConfig | None:
        if not isinstance(data, dict):
            self.problem("(top level)", "expected a mapping with version, communities and links",
                         "start from config/links.example.yaml")
            return None
        self._unknown_keys(data, "(top level)", ("version", "communities", "links", "policies"))
        version = data.get("version")
        if isinstance(version, bool) or version != 1:
            self.problem("version", f"expected 1, got {_show(version)}", "write `version: 1` at the top")
        policies = self._policies(data.get("policies"))
        communities = self._communities(data.get("communities"))
        links = self._links(data.get("links"), communities, policies)
        if strict_secrets and not pseudonym_key:
            for i, link in enumerate(links):
                if link.policy.sender == "pseudonym":
                    self.problem(f"links[{i}].policy", f"policy '{link.policy.name}' shows senders by pseudonym, "
                                 "but TWINBRIDGE_PSEUDONYM_KEY is not set",
                                 "set TWINBRIDGE_PSEUDONYM_KEY to a long random secret (e.g. `openssl rand -hex 32`) "
                                 "in the environment or .env")
        return LinksConfig(path=Path(self.file), communities=communities, links=tuple(links), policies=policies)

    def _unknown_keys(self, mapping: dict, where: str, allowed: tuple[str, ...]) -> None:
        for key in mapping:
            if key not in allowed:
                self.problem(f"{where}.{_key(key)}" if where != "(top level)" else _key(key),
                             "unknown field", f"remove it, or {_suggest(key, allowed)}")

    # -- communities ---------------------------------------------------------
    def _communities(self, raw: Any) -> dict[str, Community]:
        if not isinstance(raw, dict) or not raw:
            self.problem("communities", "expected a mapping of community ids to communities",
                         "add at least two communities, e.g. `leicester: {name: Leicester, language: en, "
                         "chats: [{telegram: -1001234567890}]}`")
            return {}
        result: dict[str, Community] = {}
        seen_chats: dict[ChatRef, str] = {}
        for cid, body in raw.items():
            where = f"communities.{_key(cid)}"
            if not isinstance(cid, str) or not _SLUG.match(cid):
                self.problem(where, "a community id must be lower-case letters, digits, '-' or '_'",
                             "rename it, e.g. `leicester`")
                continue
            if not isinstance(body, dict):
                self.problem(where, "expected a mapping with name, language and chats",
                             "see config/links.example.yaml")
                continue
            self._unknown_keys(body, where, ("name", "language", "chats", "timezone", "organisers"))
            name = body.get("name")
            if not isinstance(name, str) or not name.strip():
                self.problem(f"{where}.name", "missing, empty or not text", f"add `name: {cid.title()}`")
                name = cid
            elif len(name.strip()) > MAX_NAME:
                self.problem(f"{where}.name", f"longer than {MAX_NAME} characters",
                             f"shorten it to at most {MAX_NAME} characters (it labels every relayed post)")
                name = name.strip()[:MAX_NAME]
            language = body.get("language")
            if not isinstance(language, str) or len(language) > 15 or not is_language(language):
                self.problem(f"{where}.language", f"{_show(language)} is not a language code",
                             "use an ISO 639-1 code such as en, de, fr, es, zh, gu (or zh-CN, pt-BR)")
                language = "und"
            chats = self._chats(body.get("chats"), f"{where}.chats", cid, seen_chats)
            timezone = self._timezone(body.get("timezone", "UTC"), f"{where}.timezone")
            organisers = self._users(body.get("organisers", []), f"{where}.organisers", "organisers")
            result[cid] = Community(id=cid, name=name.strip(), language=language, chats=tuple(chats),
                                    timezone=timezone, organisers=organisers or ())
        return result

    def _timezone(self, value: Any, at: str) -> str:
        if isinstance(value, str) and len(value) <= 64 and re.fullmatch(r"[A-Za-z0-9_+/-]+", value):
            try:
                zoneinfo.ZoneInfo(value)
                return value
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                pass
        self.problem(at, f"{_show(value)} is not a time zone",
                     "use an IANA name such as Europe/Berlin, America/Managua or Asia/Kolkata (default UTC)")
        return "UTC"

    def _users(self, value: Any, at: str, key: str) -> tuple[str, ...] | None:
        """A list of "platform:user id" references (moderators, organisers)."""
        if not isinstance(value, list):
            self.problem(at, "expected a list", f"write `{key}: [\"telegram:111\", \"discord:222\"]`")
            return None
        good = []
        for v in value:
            platform, _, uid = v.partition(":") if isinstance(v, str) else ("", "", "")
            if platform not in PLATFORMS or not re.fullmatch(rf"[0-9]{{1,{MAX_USER_ID}}}", uid):
                self.problem(at, f"{_show(v)} is not a user", f"write {key} as \"telegram:<user id>\" or "
                             "\"discord:<user id>\" (the numeric id, at most 20 digits)")
            else:
                good.append(f"{platform}:{uid}")
        return tuple(good)

    def _chats(self, raw: Any, where: str, cid: str, seen: dict[ChatRef, str]) -> list[ChatRef]:
        if not isinstance(raw, list) or not raw:
            self.problem(where, "expected a list of chats", "add e.g. `- telegram: -1001234567890` or "
                         "`- discord: 112233445566778899` (the channel id)")
            return []
        chats = []
        for i, entry in enumerate(raw):
            at = f"{where}[{i}]"
            if not isinstance(entry, dict) or len(entry) != 1:
                self.problem(at, "each chat is one `platform: id` pair", "write `- telegram: -1001234567890`")
                continue
            platform, value = next(iter(entry.items()))
            if platform not in PLATFORMS:
                self.problem(f"{at}.{_key(platform)}", "unknown platform", _suggest(platform, PLATFORMS))
                continue
            chat_id = self._chat_id(platform, value, f"{at}.{platform}")
            if chat_id is None:
                continue
            chat = ChatRef(platform, chat_id)
            if chat in seen:
                self.problem(f"{at}.{platform}", f"chat {chat_id} is already listed under community '{seen[chat]}'",
                             "a chat belongs to exactly one community; remove one of the entries")
                continue
            seen[chat] = cid
            chats.append(chat)
        return chats

    def _chat_id(self, platform: str, value: Any, at: str) -> str | None:
        text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
        if platform == "telegram":
            if not re.fullmatch(r"-?\d{1,16}", text) or int(text) == 0:
                self.problem(at, f"{_show(value)} is not a Telegram chat id",
                             "use the numeric chat id, e.g. -1001234567890 for a supergroup "
                             "(forward a message to @userinfobot or read getUpdates to find it)")
                return None
            return str(int(text))
        if not re.fullmatch(r"\d{17,20}", text):
            self.problem(at, f"{_show(value)} is not a Discord channel id",
                         "use the channel's numeric id (17-20 digits): Developer Mode on, right-click the "
                         "channel, Copy Channel ID")
            return None
        return text

    # -- policies ------------------------------------------------------------
    def _policies(self, raw: Any) -> dict[str, Policy]:
        policies = dict(BUILTIN_POLICIES)
        if raw is None:
            return policies
        if not isinstance(raw, dict):
            self.problem("policies", "expected a mapping of policy names to fields",
                         "e.g. `policies: {school: {retention_days: 14}}`")
            return policies
        for name, body in raw.items():
            where = f"policies.{_key(name)}"
            if not isinstance(name, str) or not _SLUG.match(name):
                self.problem(where, "a policy name must be lower-case letters, digits, '-' or '_'",
                             "rename it, e.g. `school-strict`")
                continue
            if not isinstance(body, dict):
                self.problem(where, "expected a mapping of policy fields", f"fields are: {', '.join(POLICY_FIELDS)}")
                continue
            base_name = body.get("base", name if name in BUILTIN_POLICIES else "community")
            if not isinstance(base_name, str) or base_name not in BUILTIN_POLICIES:
                self.problem(f"{where}.base", f"unknown built-in policy {_show(base_name)}",
                             _suggest(base_name, tuple(BUILTIN_POLICIES)))
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
                self.problem(f"{where}.translation_cache_days",
                             "a cached translation would outlive the policy's retention "
                             f"({policy.retention_days} days)",
                             f"use at most {policy.retention_days}, or 0 for no cache")
            if policy.moderation == "approve" and not policy.moderators:
                self.problem(f"{where}.moderators", "moderation is `approve` but no moderator is listed",
                             "list who approves, e.g. `moderators: [\"telegram:111\", \"discord:222\"]`")
            if base_name == "school" or name == "school":
                outside = [p for p in policy.translation if p not in SELF_HOSTED_PROVIDERS]
                if outside:
                    self.problem(f"{where}.translation",
                                 f"a school policy lets only the self-hosted translator see pupils' text, "
                                 f"not {', '.join(outside)}",
                                 "use `translation: [libre]`")
            policies[name] = policy
        return policies

    def _policy_field(self, key: str, value: Any, at: str) -> Any:
        enums = {
            "sender": SENDER_MODES, "media": MEDIA_MODES, "links": LINK_MODES, "mentions": MENTION_MODES,
            "consent": CONSENT_MODES, "moderation": MODERATION_MODES,
        }
        if key in enums:
            if value not in enums[key]:
                self.problem(at, f"{_show(value)} is not allowed", _suggest(value, enums[key]))
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
                    self.problem(at, f"{_show(v)} is not something the bridge can redact", _suggest(v, REDACTIONS))
                return None if bad else tuple(value)
            if key == "translation":
                bad = [v for v in value if v not in PROVIDERS]
                for v in bad:
                    self.problem(at, f"{_show(v)} is not a translation provider", _suggest(v, PROVIDERS))
                if not bad and len(set(value)) != len(value):
                    self.problem(at, "a provider is listed twice", "list each provider once")
                return None if bad else tuple(value)
        if key == "show_original":
            if not isinstance(value, bool):
                self.problem(at, f"{_show(value)} is not true or false", "write `show_original: true` or `false`")
                return None
            return value
        if key in ("retention_days", "translation_cache_days"):
            low = 1 if key == "retention_days" else 0
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 3650:
                self.problem(at, f"{_show(value)} is not a number of days", f"use a whole number from {low} to 3650")
                return None
            return value
        return None  # pragma: no cover - every policy field is handled above

    # -- links ---------------------------------------------------------------
    def _links(self, raw: Any, communities: dict[str, Community], policies: dict[str, Policy]) -> list[Link]:
        if not isinstance(raw, list) or not raw:
            self.problem("links", "expected a list of links", "add e.g. `- {id: leicester-krefeld, communities: "
                         "[leicester, krefeld], direction: both, policy: community}`")
            return []
        result: list[Link] = []
        seen_ids: set[str] = set()
        for i, body in enumerate(raw):
            where = f"links[{i}]"
            if not isinstance(body, dict):
                self.problem(where, "expected a mapping with id, communities, direction and policy",
                             "see config/links.example.yaml")
                continue
            self._unknown_keys(body, where, ("id", "communities", "direction", "policy", "glossary"))
            link_id = body.get("id")
            if not isinstance(link_id, str) or not _SLUG.match(link_id):
                self.problem(f"{where}.id", f"{_show(link_id)} is not a valid link id",
                             "use lower-case letters, digits and '-', e.g. `leicester-krefeld`")
                link_id = f"link-{i}"
            elif link_id in seen_ids:
                self.problem(f"{where}.id", f"link id '{link_id}' is used twice", "give each link its own id")
            seen_ids.add(link_id)
            members = body.get("communities")
            ok_members: list[str] = []
            if not isinstance(members, list) or len(members) < 2:
                self.problem(f"{where}.communities", "a link joins two or more communities",
                             "write e.g. `communities: [leicester, krefeld]`")
            else:
                for j, cid in enumerate(members):
                    if not isinstance(cid, str) or cid not in communities:
                        self.problem(f"{where}.communities[{j}]", f"unknown community {_show(cid)}",
                                     _suggest(cid, tuple(communities)))
                    elif cid in ok_members:
                        self.problem(f"{where}.communities[{j}]", f"community '{cid}' is listed twice",
                                     "list each community once")
                    else:
                        ok_members.append(cid)
            direction = body.get("direction", "both")
            if direction not in DIRECTIONS:
                self.problem(f"{where}.direction", f"{_show(direction)} is not a direction", _suggest(direction, DIRECTIONS))
                direction = "both"
            policy_name = body.get("policy", "community")
            policy = policies.get(policy_name) if isinstance(policy_name, str) else None
            if policy is None:
                self.problem(f"{where}.policy", f"unknown policy {_show(policy_name)}",
                             f"{_suggest(policy_name, tuple(policies))}, or define it under `policies:`")
                policy = BUILTIN_POLICIES["community"]
            glossary = self._glossary(body.get("glossary", []), f"{where}.glossary")
            if len(ok_members) >= 2:
                result.append(Link(id=link_id, communities=tuple(ok_members), direction=direction, policy=policy,
                                   glossary=glossary))
        return result

    def _glossary(self, raw: Any, at: str) -> tuple[str, ...]:
        if not isinstance(raw, list):
            self.problem(at, "expected a list of words and names",
                         "write e.g. `glossary: [Krefeld, Hochschule Niederrhein]`")
            return ()
        terms = []
        for i, term in enumerate(raw):
            if isinstance(term, bool) or not isinstance(term, (str, int)) or not str(term).strip() \
                    or len(str(term)) > 100:
                self.problem(f"{at}[{i}]", f"{_show(term)} is not a word or name",
                             "write each term as text, up to 100 characters")
            else:
                terms.append(str(term).strip())
        return tuple(terms)
