"""What `config/links.yaml` may say: the allowed values of each field, and the
bounds on what a file may make the bridge hold."""

from __future__ import annotations

import re

SENDER_MODES = ("full", "first_name", "initials", "pseudonym", "hidden")
REDACTIONS = ("email", "phone", "url", "handle", "postcode", "iban", "card", "ip")
# approve: a message with media waits for the link's moderators (its text alone would not)
MEDIA_MODES = ("allow", "images", "approve", "block")
LINK_MODES = ("allow", "block")
MENTION_MODES = ("none", "allow")
CONSENT_MODES = ("none", "opt_in")
MODERATION_MODES = ("none", "profanity", "approve")
DIRECTIONS = ("both", "one-way")
SELF_HOSTED_PROVIDERS = ("libre",)
# libre is spoken to directly; the others are deep-translator's sentence
# translators (its word dictionaries, pons and linguee, cannot translate messages).
PROVIDERS = ("libre", "google", "mymemory", "microsoft", "deepl", "yandex", "papago", "baidu", "qcri")
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# Bounds on what the file may make us hold: its size, the nodes its anchors and
# aliases expand to (a "billion laughs" file is a few hundred bytes that expand
# to 10^9 strings), how deeply it nests, and the length of each name. A link with its
# two communities is about 33 values and 250 bytes: 10,000 links (issue 17) are 330,000
# values in 2.5 MB written compactly, twice that in block style. Reading a file builds a
# node per value first (~300 bytes each), so the values bound the memory a file can take.
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_EXPANDED_NODES = 1_000_000
MAX_DEPTH = 40
MAX_NAME = 64  # a community's name (shown in every relayed post's label)
MAX_USER_ID = 20  # digits of a platform user id (Discord snowflakes have up to 20)
