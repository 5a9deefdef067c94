"""The plain-language privacy notice `/privacy` answers with, made from a link's policy.

It says what crosses and to whom, how members are shown, what is removed
first, which translation providers see the text, what is stored and for how
long, and which rights members have. It is generated, never hand-written, so
it cannot drift from what the bridge really does.
"""

from __future__ import annotations

from .links import Link, LinksConfig

_SENDER = {
    "full": 'by your display name, e.g. "Anna Smith · {community}"',
    "first_name": 'by your first name only, e.g. "Anna · {community}"',
    "initials": 'by your initials only, e.g. "A.S. · {community}"',
    "pseudonym": 'by a pseudonym such as "Blue Heron 42 · {community}": the same in this link every time, '
    "different in any other link, and never your name",
    "hidden": 'without any name: only "{community}" is shown',
}
_REDACTED = {
    "email": "e-mail addresses",
    "phone": "phone numbers",
    "url": "links",
    "handle": "@usernames",
    "postcode": "postcodes",
    "iban": "bank account numbers (IBAN)",
    "card": "card numbers",
    "ip": "IP addresses",
}
_MEDIA = {
    "allow": "Photos and files are shown on the other side as attachments.",
    "images": "Only photos are carried; other files are not shown on the other side.",
    "approve": "A message with photos or files crosses only once a moderator has seen and approved it; "
    "messages without them are not held for that.",
    "block": "Photos and files are not carried at all.",
}
_METADATA = (
    "What a photo file says about itself (where it was taken, the camera and its serial number, "
    "the time) is removed before it crosses; file names are shown as they are."
)
_PROVIDERS = {
    "libre": "LibreTranslate, run by the organisers themselves (the text does not leave their server)",
    "google": "Google Translate (an external company)",
    "mymemory": "MyMemory (an external service)",
    "microsoft": "Microsoft Translator (an external company)",
    "deepl": "DeepL (an external company)",
    "yandex": "Yandex Translate (an external company)",
    "papago": "Papago (an external company)",
    "baidu": "Baidu Translate (an external company)",
    "qcri": "QCRI (an external service)",
}


def provider_words(name: str) -> str:
    """A translation provider in plain words ("LibreTranslate, run by the organisers themselves …")."""
    return _PROVIDERS.get(name, name)


_NAMES_SHOWN = ("full", "first_name")  # the policies whose posts may show a member's face too


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def privacy_notice(config: LinksConfig, link: Link, community_id: str) -> str:
    """The notice for members of ``community_id`` in ``link`` (plain text)."""
    policy = link.policy
    here = config.communities[community_id]
    others = [config.communities[c].name for c in link.communities if c != community_id]
    speaks = community_id in link.speakers()
    lines = [f'Privacy notice — twinbridge link "{link.id}" ({here.name} with {_join(others)})', ""]
    if speaks:
        lines.append(
            f"What crosses: the messages you write in this chat are shown in the chats of {_join(others)}, "
            "with their replies, edits and deletions. Messages from there are shown here."
        )
    else:
        speaker = config.communities[link.communities[0]].name
        lines.append(
            f"What crosses: this chat receives notices from {speaker}. Nothing you write here "
            "is sent anywhere by this link."
        )
    lines.append("You are shown " + _SENDER[policy.sender].format(community=here.name) + ".")
    # A Telegram member's profile photo is their avatar on Discord where names are shown (issue 15).
    photo_shown = (
        speaks
        and policy.sender in _NAMES_SHOWN
        and any(chat.platform == "telegram" for chat in here.chats)
        and any(
            chat.platform == "discord"
            for c in link.communities
            if c != community_id
            for chat in config.communities[c].chats
        )
    )
    if photo_shown:
        lines.append(
            "If you write from Telegram, your Telegram profile photo is shown as your picture next to your "
            "messages on Discord (a copy without its metadata; under other policies a neutral picture is shown)."
        )
    removed = [_REDACTED[kind] for kind in policy.redact]
    if policy.links == "block" and "url" not in policy.redact:
        removed.append(_REDACTED["url"])
    if removed:
        lines.append(
            f"Removed before anything leaves{' (from captions too)' if policy.media != 'block' else ''}: "
            f'{_join(removed)} (replaced by a marker such as "[phone removed]").'
        )
    lines.append(_MEDIA[policy.media])
    if policy.media != "block":
        lines.append(_METADATA)
    lines.append(
        "Nobody on the other side is ever notified (pinged) by a mention from here."
        if policy.mentions == "none"
        else "Mentions of users can notify them on the other side."
    )
    if policy.moderation == "profanity":
        lines.append('Swear words are masked ("f***").')
    elif policy.moderation == "approve":
        lines.append("A moderator reads and approves each message before it crosses.")
    if policy.consent == "opt_in":
        lines.append("Nothing of yours crosses until you say /consent; /consent withdraw stops it again.")
    providers = [_PROVIDERS.get(p, p) for p in policy.translation]
    lines.append(
        "Translation: only " + _join(providers) + " may see the text, to translate it (in that order of preference)."
    )
    cache = (
        f" Translations may be kept for {policy.translation_cache_days} days to save work."
        if policy.translation_cache_days
        else ""
    )
    lines += [
        "",
        "What is stored, and for how long:",
        "• Message text: only while it is being delivered (usually seconds; while a platform is down, "
        "until it is delivered), never in logs." + cache,
        f"• Which relayed copy belongs to which message (ids, no text): {policy.retention_days} days, "
        "so that edits, replies and deletions follow.",
        f'• A log of privacy decisions (e.g. "a phone number was removed"), without any content: '
        f"{policy.retention_days} days.",
        "• Your answer to an event notice (Going, Maybe, Can't) and the community you answered from: "
        f"until {policy.retention_days} days after the event; organisers see the counts per community.",
    ]
    if photo_shown:
        lines.append(
            f"• A copy of your Telegram profile photo, shown as your picture on Discord: {policy.retention_days} "
            "days; /forgetme deletes it at once."
        )
    if policy.consent == "opt_in":
        lines.append(
            "• Your consent, while you keep writing here; it lapses after "
            f"{policy.retention_days} days without a message."
        )
    lines += [
        "",
        "Your rights: /mydata shows everything stored about you (sent to you privately); "
        "/forgetme deletes it (your profile photo's copy too) and the relayed copies of your messages "
        "where the platform allows.",
    ]
    return "\n".join(lines)
