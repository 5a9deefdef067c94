"""Every Redis key the bridge owns, in one place (so retention can be audited)."""

from __future__ import annotations

import hashlib

from dataclasses import dataclass

DAY = 86400


@dataclass(frozen=True)
class Keys:
    prefix: str = "tb:"

    def seen(self, dedup_key: str) -> str:
        """Ingress deduplication marker for one platform event."""
        return f"{self.prefix}seen:{dedup_key}"

    def ingress(self) -> str:
        """Stream of accepted events not yet fully processed (text in flight only)."""
        return f"{self.prefix}ingress"

    def ingress_sweep_lock(self) -> str:
        """Lock: one ingress sweeper at a time looks for lost tasks (a few seconds)."""
        return f"{self.prefix}ingress:sweeping"

    def in_flight(self, chat_key: str, seq: int) -> str:
        """Marker: the event at this position of a source chat is accepted but not yet
        published (so an outbox lane knows a gap will fill)."""
        return f"{self.prefix}inflight:{chat_key}:{seq}"

    def in_flight_prefix(self, chat_key: str) -> str:
        """What every in-flight marker of one source chat starts with (a script appends
        the positions it looks at)."""
        return f"{self.prefix}inflight:{chat_key}:"

    def seq(self, chat_key: str) -> str:
        """Counter giving each event of a source chat its position. Expires with the
        retention after the chat's last event; the cursors below expire with it."""
        return f"{self.prefix}seq:{chat_key}"

    def pending_commands(self, chat_key: str) -> str:
        """Sorted set of the positions (seq) of a chat's commands accepted but not yet
        handled: a later event of the chat waits for them (docs/reliability.md)."""
        return f"{self.prefix}pendingcmd:{chat_key}"

    def outbox(self, platform: str) -> str:
        """Stream of posts waiting for one platform's adapter (text in flight only)."""
        return f"{self.prefix}outbox:{platform}"

    def delivered(self, delivery_key: str) -> str:
        """Marker that one post reached one destination (delivery deduplication)."""
        return f"{self.prefix}delivered:{delivery_key}"

    def refusal_told(self, source_key: str) -> str:
        """Marker: the member whose message ``source_key`` carried a file a destination
        would not take has been told (once per message, not per destination or retry;
        bridge/media/refusals.py); expires with the link's retention."""
        return f"{self.prefix}refused:told:{source_key}"

    def idmap(self, source_key: str) -> str:
        """Hash: for one source message, the relayed copies per link and destination."""
        return f"{self.prefix}idmap:{source_key}"

    def copy_files(self, source_key: str) -> str:
        """Hash: for one source message (a Discord member's, whose files an edit can take
        away), per link and destination, which of its attachments (Discord attachment
        ids, no names) each relayed copy shows: JSON {copy message id: [attachment id, ...]}.
        Expires with the link's retention, like the id map."""
        return f"{self.prefix}copyfiles:{source_key}"

    def intents(self, source_key: str) -> str:
        """Hash: for one source message, per link and destination, the intent of a post
        about to be sent whose copy is not recorded yet (time, salted digests of what
        was sent, never text). Removed when the copy is recorded; expires with the
        link's retention (a crash can leave one: see core/intents.py)."""
        return f"{self.prefix}intent:{source_key}"

    def adapter_lease(self, platform: str) -> str:
        """The running adapter of one platform (its consumer name); a short TTL that the
        holder renews, so a second `twinbridge run` stands by and takes over when it dies."""
        return f"{self.prefix}lease:adapter:{platform}"

    @staticmethod
    def adapter_token_lease(platform: str, token: str) -> str:
        """The same lease, per bot token and deliberately outside every prefix: two
        deployments that share a token but not a prefix (or a Redis database's tests)
        still run one adapter for it (Telegram allows one ``getUpdates`` poller per
        token). Named by a hash of the token, never the token; a short TTL like the other."""
        digest = hashlib.sha256(b"twinbridge adapter lease\x00" + token.encode("utf-8")).hexdigest()[:32]
        return f"twinbridge:lease:token:{platform}:{digest}"

    def heartbeat(self, role: str, instance: str) -> str:
        """A running process's (or connected adapter's) heartbeat: JSON (role, host, pid,
        since when, nothing personal), renewed every few seconds with a TTL of three
        periods (core/storage/heartbeats.py), so it vanishes when the process stops or dies."""
        return f"{self.prefix}heartbeat:{role}:{instance}"

    def heartbeats(self) -> str:
        """Sorted set indexing the heartbeats (role|instance, scored with when each
        expires), so that `twinbridge status` finds them without scanning; it expires
        with the last heartbeat renewed."""
        return f"{self.prefix}heartbeats"

    def origin(self, copy_key: str) -> str:
        """For one relayed copy, the source message it copies (link|source key)."""
        return f"{self.prefix}origin:{copy_key}"

    def album_parts(self, chat_key: str, group: str) -> str:
        """Hash: the parts of a Telegram album (media group) not yet accepted, message id ->
        the part's event as JSON (text in flight only: seconds, until the album is whole)."""
        return f"{self.prefix}album:parts:{chat_key}:{group}"

    def albums_due(self) -> str:
        """Sorted set: the albums being gathered ("chat key|group"), scored with the time
        (ms) after which no more parts are waited for."""
        return f"{self.prefix}album:due"

    def album_done(self, chat_key: str, group: str) -> str:
        """Hash: an album accepted as one event: "source" -> the message id it goes by, and
        each part's message id (a part delivered again is a duplicate). Ids only; expires
        with the chat's retention."""
        return f"{self.prefix}album:done:{chat_key}:{group}"

    def album_of(self, part_key: str) -> str:
        """For one part of an album, the source message key the album was relayed as (its
        copies are that message's), so replies, edits and deletes of the part find them."""
        return f"{self.prefix}album:of:{part_key}"

    def cursor(self, destination_key: str, source_chat_key: str) -> str:
        """The last position (seq) of a source chat delivered to one destination; it
        expires when that chat's counter (``seq``) does, never later (scripts/cursor_advance.lua)."""
        return f"{self.prefix}cursor:{destination_key}:{source_chat_key}"

    def dead_letters(self) -> str:
        """The old single stream of dead letters (before issue 12), whose TTL every write
        reset; read once to move its entries into the per-entry store below, then gone."""
        return f"{self.prefix}dead"

    def dead_letter(self, entry_id: str) -> str:
        """Hash: one post or event that could not be delivered or processed, with its
        reason and (for a retry) its content; expires with its link's retention."""
        return f"{self.prefix}dead:entry:{entry_id}"

    def dead_letter_index(self) -> str:
        """Sorted set of every dead letter's id, scored with its expiry (pruned on use)."""
        return f"{self.prefix}dead:index"

    def dead_letters_of_link(self, link_id: str) -> str:
        """Sorted set of one link's dead-letter ids, scored with their expiry (the link's cap)."""
        return f"{self.prefix}dead:link:{link_id}"

    def dead_letters_of_author(self, person: str) -> str:
        """Sorted set of one member's dead-letter ids, scored with their expiry (the per-sender
        cap, and what erasure removes); named by their person key, never the member's id."""
        return f"{self.prefix}dead:author:{person}"

    def dead_letter_salt(self) -> str:
        """The dead letters' own salt of an earlier version (no longer made): while it
        exists, the entries filed under digests made with it are re-filed under person
        keys, then it is deleted (core/deadletters.py)."""
        return f"{self.prefix}dead:salt"

    def translation(self, digest: str) -> str:
        """A cached translation, keyed by a hash of the text and its settings;
        only where the link's policy allows a cache, and never past its retention."""
        return f"{self.prefix}tr:{digest}"

    def consent(self, link_id: str, user_ref: str) -> str:
        """A member's consent in one link (``consent: opt_in``); lapses after the
        link's retention without a message from them."""
        return f"{self.prefix}consent:{link_id}:{user_ref}"

    def explained(self, link_id: str, user_ref: str) -> str:
        """Marker: the member was told once why their messages do not cross yet."""
        return f"{self.prefix}explained:{link_id}:{user_ref}"

    def held(self, hold_id: str) -> str:
        """A message waiting for a moderator (``moderation: approve``), with its
        text; expires with the link's retention."""
        return f"{self.prefix}held:{hold_id}"

    def released(self, hold_id: str) -> str:
        """An approved message handed to the translation stage and not yet published:
        retired by the script that publishes it, so a translation task run twice
        publishes it once (its value is empty: ids only); expires with the link's retention."""
        return f"{self.prefix}released:{hold_id}"

    def hold_ref(self, link_id: str, dedup_key: str) -> str:
        """The hold ID one event got in one link (so a task run twice holds it once);
        ids only, expires with the link's retention."""
        return f"{self.prefix}holdref:{link_id}:{dedup_key}"

    def pseudonym(self, link_id: str, user_ref: str) -> str:
        """The pseudonym a member was given in one link; expires with the link's
        retention after their last message, deleted by erasure."""
        return f"{self.prefix}pseudonym:{link_id}:{user_ref}"

    def pseudonym_claim(self, link_id: str, name: str) -> str:
        """Marker that a pseudonym is taken in one link (its value: a keyed hash of the
        member, never their id), so no two members of a link share one."""
        return f"{self.prefix}pseudonym-claim:{link_id}:{name}"

    def authored(self, user_ref: str) -> str:
        """Sorted set of "link|source message" (and "held|ID") a member wrote, each
        scored with its own expiry: what /mydata lists and /forgetme takes back. Ids only."""
        return f"{self.prefix}authored:{user_ref}"

    def audit(self, link_id: str) -> str:
        """Stream of one link's policy decisions (what was redacted, held, approved,
        erased, consented), never message content; trimmed to the link's retention."""
        return f"{self.prefix}audit:{link_id}"

    def person_salt(self) -> str:
        """The install's random salt for person keys (core/persons.py), when
        TWINBRIDGE_PSEUDONYM_KEY is not set. Configuration: no expiry."""
        return f"{self.prefix}config:person_salt"

    def schema(self) -> str:
        """The version of the stored formats this Redis holds (core/storage/migrations.py):
        each process checks it at start. Configuration: no expiry."""
        return f"{self.prefix}config:schema"

    def erased(self, person: str) -> str:
        """Tombstone of an erased member (by person key, never a platform id): its
        value is when; what they wrote before is neither published nor sent. Expires
        with the longest link retention."""
        return f"{self.prefix}erased:{person}"

    def erasure(self, person: str) -> str:
        """An erasure under way (hash: the member's ref and when it started), so a
        crashed worker's erasure is driven to the end by the next; deleted when done."""
        return f"{self.prefix}erasure:{person}"

    def erasures(self) -> str:
        """Pattern matching every erasure under way (for SCAN)."""
        return f"{self.prefix}erasure:*"

    def notices_about(self, person: str) -> str:
        """Sorted set of the bot's notices that show a member's data ("link|notice
        source|chat|private_to"), each scored with its expiry: a held message shown to a
        moderator, a decision naming them, their /mydata answer. Erasure deletes them."""
        return f"{self.prefix}notices:{person}"

    def quoted_in(self, source_key: str) -> str:
        """Set of the relayed replies ("link|reply's source|destination") whose post
        quotes this source message (Discord webhooks quote what they reply to), so
        erasing the message can drop the quote. Expires with the link's retention."""
        return f"{self.prefix}quoted:{source_key}"

    # -- RSVPs to event notices (issue 14; core/storage/rsvps.py) ----------------------------
    def rsvp_choices(self, announcement_id: str) -> str:
        """Hash: each member's answer to one event notice (person key -> "choice|community|
        when"), never a platform id; expires with the announcement (the link's retention
        after the event)."""
        return f"{self.prefix}rsvp:choices:{announcement_id}"

    def rsvp_counts(self, announcement_id: str) -> str:
        """Hash: the answers to one event notice counted per community and choice
        ("krefeld|going" -> n) and their version ("~version", bumped by every change);
        expires with the choices."""
        return f"{self.prefix}rsvp:counts:{announcement_id}"

    def rsvps_of(self, person: str) -> str:
        """Sorted set of the event notices a member answered (announcement ids, each
        scored with its own expiry): what /mydata lists and /forgetme takes back."""
        return f"{self.prefix}rsvp:of:{person}"

    def rsvp_refresh(self, announcement_id: str) -> str:
        """Gate: a refresh of one notice's shown counts is scheduled (so presses in a burst
        make one refresh); a few seconds, deleted when the refresh runs."""
        return f"{self.prefix}rsvp:refresh:{announcement_id}"

    def rsvp_shown(self, announcement_id: str) -> str:
        """The counts' version last queued to the notice's copies (so an older refresh
        never overwrites a newer one); expires with the announcement."""
        return f"{self.prefix}rsvp:shown:{announcement_id}"

    # -- reactions on relayed copies, shown on the original (issue 15; core/storage/reactions.py) --
    def reactions(self, original_key: str) -> str:
        """Hash: the reactions on one original's relayed copies, counted per copy's chat and
        emoji ("discord:123|👍" -> n), their version ("~version") and TTL ("~ttl"); counts
        only, no reactor. Expires with the link's retention."""
        return f"{self.prefix}reactions:{original_key}"

    def reactions_due(self, platform: str) -> str:
        """Sorted set of originals on ``platform`` whose shown reactions need a refresh,
        scored with when it is due (a few seconds after the first change: a burst makes
        one refresh); a day's TTL, renewed by each change."""
        return f"{self.prefix}reactions:due:{platform}"

    def reaction_line(self, original_key: str) -> str:
        """The id of the bot's count line replying to a Telegram original (edited as the
        counts change); expires with the link's retention."""
        return f"{self.prefix}reactions:line:{original_key}"

    def reactions_shown(self, original_key: str) -> str:
        """Set of the emoji the bot has added to a Discord original as its own reactions;
        expires with the link's retention."""
        return f"{self.prefix}reactions:mine:{original_key}"

    # -- avatars (issue 15; core/storage/avatars.py) ---------------------------------------
    def avatar(self, person: str) -> str:
        """Hash: a Telegram member's profile photo, metadata stripped ("photo"; absent: they
        have none), and the random token of its public URL ("token"), by person key;
        expires with the link's retention, deleted by erasure."""
        return f"{self.prefix}avatar:{person}"

    def avatar_token(self, token: str) -> str:
        """The person key whose avatar a public URL's random token serves; expires with it."""
        return f"{self.prefix}avatar:token:{token}"

    def rate_limit(self, bucket: str) -> str:
        """One rate-limit bucket's bookings and pause (core/ratelimit.py); expires a
        period after its last booking."""
        return f"{self.prefix}rl:{bucket}"

    # Organisers' announcements (issue 14; core/storage/announcements.py). Each expires
    # with its announcement: the event's end (or start, or the time it is sent) plus the
    # link's retention.

    def announcement(self, announcement_id: str) -> str:
        """Hash: one announcement (``data``: its JSON, with its text; ``state``)."""
        return f"{self.prefix}announce:{announcement_id}"

    def announcements_of_link(self, link_id: str) -> str:
        """Sorted set of one link's announcement ids, scored with their expiry (pruned on use)."""
        return f"{self.prefix}announce:link:{link_id}"

    def announcement_schedule(self) -> str:
        """Sorted set of what is still to fire ("ID|fire", "ID|remind:SECONDS"), scored with
        when; ids only. Its expiry follows the latest announcement scheduled in it."""
        return f"{self.prefix}announce:schedule"

    def announcement_fired(self, announcement_id: str) -> str:
        """Set of what of one announcement has been handed to the fire task ("fire",
        "remind:SECONDS"), so that nothing is handed over twice."""
        return f"{self.prefix}announce:fired:{announcement_id}"

    def announcement_firing(self, announcement_id: str, what: str) -> str:
        """Marker (its value: the fire task's id): ``what`` of one announcement is handed to
        the fire task and not yet published. The script that publishes its posts retires it
        (``announcements.retire_firing``), so a fire task run twice publishes once."""
        return f"{self.prefix}announce:firing:{announcement_id}:{what}"

    def scheduler_alive(self) -> str:
        """Marker: a `twinbridge scheduler` polled within the last few seconds (so that
        `twinbridge announce --at` can warn when none runs)."""
        return f"{self.prefix}announce:scheduler"

    def announcement_firings(self) -> str:
        """Pattern matching every firing marker (for SCAN: the scheduler looks for a fire
        task lost on its way to a worker)."""
        return f"{self.prefix}announce:firing:*"

    def announcement_sweep_lock(self) -> str:
        """Lock: one scheduler at a time looks for lost fire tasks (a few seconds)."""
        return f"{self.prefix}announce:sweeping"

    def announcement_request(self, digest: str) -> str:
        """The announcement one `twinbridge announce` command made (a digest of the command,
        never its text), for ten minutes: the same command run again makes nothing new."""
        return f"{self.prefix}announce:request:{digest}"

    def announcement_posts(self, announcement_id: str) -> str:
        """Hash: destination chat -> the announcement's copy published there (the post as
        JSON, with its translated text), for the RSVP refresh to edit every copy
        (core/storage/announcement_posts.py); expires with the announcement."""
        return f"{self.prefix}announce:posts:{announcement_id}"

    def broker_prefix(self) -> str:
        """What every Celery key starts with (kombu's ``global_keyprefix``): the broker's
        queues and unacknowledged messages live under the bridge's prefix."""
        return f"{self.prefix}celery:"

    def everything(self) -> str:
        """Pattern matching every key of this install (for SCAN: the demo removes them)."""
        return f"{self.prefix}*"

    def stats(self) -> str:
        """Hash of counters (no content, no ids)."""
        return f"{self.prefix}stats"

    def discord_last_seen(self, channel_id: str) -> str:
        """The newest member message accepted from a Discord channel (for catching up)."""
        return f"{self.prefix}discord:last_seen:{channel_id}"

    def discord_accepted(self, channel_id: str) -> str:
        """Sorted set: the newest member messages accepted from a Discord channel (ids,
        scored by the time in them), at most ``DiscordState.TRACKED``: what a new gateway
        session compares with the channel's history (deletes and edits made meanwhile)."""
        return f"{self.prefix}discord:accepted:{channel_id}"

    def webhooks(self) -> str:
        """Hash: Discord channel id -> our webhook (id and token). Configuration-like state."""
        return f"{self.prefix}discord:webhooks"

    def discord_guild_event(self, announcement_id: str, guild_id: str) -> str:
        """The Discord scheduled event made for one announcement in one guild ("pending"
        while it is being made): so a guild with several linked channels gets one. Expires
        a day after the event's end."""
        return f"{self.prefix}discord:guild_event:{announcement_id}:{guild_id}"

    def thread_map(self, chat_key: str, thread: str, other_chat_key: str) -> str:
        """A thread (Discord) or forum topic (Telegram) of one chat -> its twin in another
        linked chat ("" names the chat itself: a forum destination's post for that source
        chat). Ids only; expires with the link's retention, refreshed on each use."""
        return f"{self.prefix}thread:{chat_key}:{thread}>{other_chat_key}"

    def copy_thread(self, chat_key: str, message_id: str) -> str:
        """The thread of a Discord chat that one relayed copy was posted in (its id), so a
        delete or edit that names no thread (an erasure, a Telegram /delete) finds it.
        Ids only; expires with the link's retention."""
        return f"{self.prefix}copythread:{chat_key}:{message_id}"

    STATS_TTL = 90 * DAY

    # -- organisers' link control and link activity (issue 14) ----------------------------
    def link_pause(self, link_id: str) -> str:
        """A link's pause (JSON: state, until, the command that set it, never who). An
        organiser's /pause with a duration expires with it; without one it is
        configuration-like link control and stays until /resume (no TTL). /resume leaves a
        "resumed" record for a day, so the same /resume run twice says so once."""
        return f"{self.prefix}link:pause:{link_id}"

    def link_last_relayed(self, link_id: str, community_id: str) -> str:
        """When a message from one community last crossed one link (its direction); a
        time, no id; expires LINK_ACTIVITY_TTL after it (the link's retention if shorter)."""
        return f"{self.prefix}link:last:{link_id}:{community_id}"

    def link_relayed_on(self, link_id: str, community_id: str, day: str) -> str:
        """How many messages from one community crossed one link on one UTC day
        (YYYY-MM-DD); a counter, expires LINK_ACTIVITY_TTL after its day's last (the link's
        retention if shorter)."""
        return f"{self.prefix}link:relayed:{link_id}:{community_id}:{day}"

    def held_of_link(self, link_id: str) -> str:
        """Sorted set of one link's hold IDs scored with their expiry (what /status counts);
        decided ones are pruned when read. Ids only."""
        return f"{self.prefix}heldlink:{link_id}"

    LINK_ACTIVITY_TTL = 8 * DAY  # a week of /status figures, and a day's grace

    # -- the web console (issue 18) -----------------------------------------------------
    def console_signin(self, token_hash: str) -> str:
        """A one-time sign-in link's token, by its SHA-256 (the token itself is stored
        nowhere): who it signs in; expires after CONSOLE_SIGNIN_TTL, taken once (GETDEL)."""
        return f"{self.prefix}console:signin:{token_hash}"

    def console_session(self, session_hash: str) -> str:
        """A signed-in console session, by the SHA-256 of its cookie: who, their CSRF
        token, when it started; expires after CONSOLE_SESSION_TTL."""
        return f"{self.prefix}console:session:{session_hash}"

    CONSOLE_SIGNIN_TTL = 600  # ten minutes
    CONSOLE_SESSION_TTL = 8 * 3600  # a working day
