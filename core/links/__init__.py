"""Loading and validating `config/links.yaml` (the configuration contract).

Every problem is collected, not just the first, and each names the file, the
field (as a path such as ``links[0].communities[1]``) and a fix. The result is
a tree of frozen dataclasses; the config is an allow-list: a chat it does not
name is never relayed.
"""

from __future__ import annotations

from .loading import load_links
from .model import (
    BUILTIN_POLICIES,
    POLICY_FIELDS,
    Community,
    Link,
    LinksConfig,
    Membership,
    Policy,
)
from .problems import ConfigError, Problem
from .schema import (
    CONSENT_MODES,
    DIRECTIONS,
    LINK_MODES,
    MAX_DEPTH,
    MAX_EXPANDED_NODES,
    MAX_FILE_BYTES,
    MAX_NAME,
    MAX_USER_ID,
    MEDIA_MODES,
    MENTION_MODES,
    MODERATION_MODES,
    PROVIDERS,
    REDACTIONS,
    SELF_HOSTED_PROVIDERS,
    SENDER_MODES,
)

__all__ = [
    "BUILTIN_POLICIES",
    "CONSENT_MODES",
    "DIRECTIONS",
    "LINK_MODES",
    "MAX_DEPTH",
    "MAX_EXPANDED_NODES",
    "MAX_FILE_BYTES",
    "MAX_NAME",
    "MAX_USER_ID",
    "MEDIA_MODES",
    "MENTION_MODES",
    "MODERATION_MODES",
    "POLICY_FIELDS",
    "PROVIDERS",
    "REDACTIONS",
    "SELF_HOSTED_PROVIDERS",
    "SENDER_MODES",
    "Community",
    "ConfigError",
    "Link",
    "LinksConfig",
    "Membership",
    "Policy",
    "Problem",
    "load_links",
]
