"""Names as relayed posts show them ("Anna · Leicester"): one line, no
invisible controls, and the "·" that separates sender and community is ours.

A member chooses their display name; without this, "Admin · Krefeld" as a
Leicester member's name would read as a Krefeld post, a newline would start a
line of its own, and a right-to-left override would turn the rest around.
"""

from __future__ import annotations

import re
import unicodedata

SEPARATOR = " · "
# The middle dot and the dots and bullets that look like it.
_SEPARATOR_LOOKALIKES = re.compile("[\u00b7\u0387\u2022\u2027\u2219\u22c5\u2e31\u30fb\uff65\ua78f\u16eb\u2981]")


def one_line(text: str) -> str:
    """``text`` on one line: control and format characters (newlines, bidi
    overrides, zero-width joiners) dropped or made spaces, runs of spaces collapsed."""
    kept = []
    for char in text or "":
        category = unicodedata.category(char)
        if char.isspace() or category in ("Cc", "Zl", "Zp"):
            kept.append(" ")
        elif category not in ("Cf", "Co", "Cs", "Cn") or char == "\u200d":  # ZWJ joins emoji
            kept.append(char)
    return " ".join("".join(kept).split())


def shown_name(name: str) -> str:
    """A sender's or community's name for a label: one line, and any "·" (or a
    look-alike) replaced by "-" so that only our separator reads as one."""
    return _SEPARATOR_LOOKALIKES.sub("-", one_line(name))


def label(sender: str, community: str) -> str:
    """ "Anna · Leicester", or just "Leicester" when the policy hides the sender."""
    sender, community = shown_name(sender), shown_name(community)
    return f"{sender}{SEPARATOR}{community}" if sender else community
