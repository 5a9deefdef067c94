"""The `twinbridge` command (its commands and environment: README.md, "Command line" and "Environment")."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import sys

from typing import TYPE_CHECKING

from core.logging_setup import configure_from_settings
from core.settings import Settings, SettingsError, _strip_password, load_settings

if TYPE_CHECKING:
    from core.links import LinksConfig

EXIT_CONFIG = 2


def _settings(args) -> Settings:
    return load_settings().with_config(getattr(args, "config", None))


def _load_config(settings: Settings, strict_secrets: bool = True) -> LinksConfig:
    """Load the links, or print every problem and exit 2 (never a traceback).
    ``strict_secrets``: also refuse a policy whose secret is not set."""
    from core.links import ConfigError, load_links  # not at the top: `twinbridge health` must start fast

    try:
        return load_links(settings.config_path, pseudonym_key=settings.pseudonym_key, strict_secrets=strict_secrets)
    except ConfigError as exc:
        print(f"twinbridge: the configuration has {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def _redis_client(url: str, **kwargs):
    """A client for REDIS_URL, whatever its form (core/storage/connection.py)."""
    from core.storage.connection import redis_client

    return redis_client(url, **kwargs)


def cmd_check(args) -> int:
    settings = _settings(args)
    config = _load_config(settings)
    chats = config.chats()
    print(
        f"{settings.config_path}: OK — {len(config.communities)} communities, {len(config.links)} links, "
        f"{len(chats)} chats ({sum(c.platform == 'telegram' for c in chats)} Telegram, "
        f"{sum(c.platform == 'discord' for c in chats)} Discord)"
    )
    for link in config.links:
        names = ", ".join(f"{config.communities[c].name} ({config.communities[c].language})" for c in link.communities)
        print(f"  {link.id}: {names}; {link.direction}; policy {link.policy.name}")
    from .platforms import PLATFORMS

    for platform in PLATFORMS:
        if any(c.platform == platform.name for c in chats) and not platform.token(settings):
            print(
                f"  note: {platform.name} chats are configured but {platform.token_setting.upper()} is not set; "
                f"`twinbridge run` will not start that adapter"
            )
    for link in config.links:
        if link.policy.moderation == "approve":
            on_telegram = [m for m in link.policy.moderators if m.startswith("telegram:")]
            if on_telegram:
                print(
                    f"  note: {link.id}: moderators {', '.join(on_telegram)} receive held messages only after "
                    "opening a private chat with the bot and saying /start (Telegram does not let bots write first)"
                )
    if not settings.console_url and any(link.policy.moderators or config.organisers(link) for link in config.links):
        print(
            "  note: TWINBRIDGE_CONSOLE_URL is not set: /console answers that the web console is not set up "
            "(set it to the console's public https address; docs/deploy.md)"
        )
    from workers.translation.wiring import translation_report

    for line in translation_report(settings, config):
        print(f"  note: {line}")
    return 0


def _check_schema(settings: Settings) -> None:
    """The stored formats' version (core/storage/migrations.py), checked by every process at
    start: an older Redis is migrated; a newer one refuses this process (exit 2). When Redis
    does not answer yet, the process starts and waits for it as usual (checked next start)."""
    import redis as redis_lib

    from core.storage import migrations
    from core.storage.keys import Keys

    client = _redis_client(settings.redis_url, socket_connect_timeout=5, socket_timeout=10)
    try:
        done = migrations.check(client, Keys(settings.redis_prefix))
    except migrations.SchemaTooNew as exc:
        print(f"twinbridge: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None
    except (redis_lib.exceptions.ConnectionError, redis_lib.exceptions.TimeoutError):
        logging.getLogger("twinbridge.schema").warning("Redis does not answer: stored formats' version not checked")
        return
    finally:
        client.close()
    if done:
        logging.getLogger("twinbridge.schema").info(
            "stored formats migrated from version %d to %d", done[0], migrations.CURRENT
        )


def cmd_run(args) -> int:
    settings = _settings(args)
    config = _load_config(settings)
    if not (settings.telegram_bot_token or settings.discord_bot_token):
        print(
            "twinbridge: no adapter to start: set TELEGRAM_BOT_TOKEN and/or DISCORD_BOT_TOKEN "
            "(in the environment or .env). To see the bridge work without tokens, run `twinbridge demo`.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    _check_schema(settings)
    from .runner import FatalStartError, run

    try:
        asyncio.run(run(settings, config))
    except FatalStartError as exc:
        print(f"twinbridge: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        pass
    return 0


def cmd_worker(args, extra: list[str]) -> int:
    settings = _settings(args)
    # Refuse to start on a broken config. Translators hold no policy secrets (a
    # pseudonym is made by the moderation worker): theirs are not asked for.
    config = _load_config(settings, strict_secrets=args.role in ("all", "moderation"))
    _check_schema(settings)
    # The Celery app reads its settings at import time; hand it --config.
    os.environ["TWINBRIDGE_CONFIG"] = str(settings.config_path)
    from workers.app import app, use_role
    from workers.links_config import keep

    keep(settings, config)  # the stages use this one, and the pool's processes share it

    queues = use_role(app, args.role)  # the role's queues, and only its task modules imported
    # Mingle and gossip only slow start-up down; workers share nothing but Redis.
    # Structured logs: Celery's banner (text on stdout) is left out; the worker logs its start instead.
    quiet = ["--quiet"] if settings.log_format == "json" else []
    argv = [
        *quiet,
        "worker",
        "-Q",
        ",".join(queues),
        "--loglevel",
        settings.log_level,
        "--without-mingle",
        "--without-gossip",
        *extra,
    ]
    logging.getLogger("twinbridge.worker").info(
        "starting a worker: role %s, queues %s, log level %s", args.role, ",".join(queues), settings.log_level
    )
    app.worker_main(argv=argv)
    return 0


def cmd_scheduler(args) -> int:
    """Hand announcements to the fire task when they are due (workers/scheduler.py)."""
    from workers.scheduler import main as scheduler_main

    settings = _settings(args)
    _check_schema(settings)
    return scheduler_main(settings)


def cmd_demo(args) -> int:
    from .demo import main as demo_main

    settings = _settings(args)
    return asyncio.run(demo_main(settings, explicit_config=getattr(args, "config", None)))


def cmd_dead_letters(args) -> int:
    import redis as redis_lib

    from core import deadletters
    from core.storage.keys import Keys
    from core.task_queue import TaskQueue

    settings = _settings(args)
    client = _redis_client(settings.redis_url, decode_responses=True, socket_connect_timeout=5)
    keys = Keys(settings.redis_prefix)
    try:
        if args.action == "list":
            letters = deadletters.read(client, keys, args.link)
            if letters:
                print("by link and reason:")
                for (link, reason), n in sorted(deadletters.counts(letters).items()):
                    print(f"  {n:5d}  link {link}: {reason}")
                print("entries (oldest first; `show ID` for one, `--text` to see what it says):")
            for letter in letters:
                print(letter.summary())
            print(
                f"{len(letters)} dead letter(s)"
                + (
                    ""
                    if not letters
                    else "; `twinbridge dead-letters retry [ID ...]` sends them again, `purge [ID ...]` drops them"
                )
            )
            full = deadletters.refused(client, keys)
            if full:
                print(
                    "refused because the store was full (dropped, not kept): "
                    + ", ".join(
                        f"{n} ({'a link' if what == 'link_full' else 'one sender'} at its cap)"
                        for what, n in sorted(full.items())
                    )
                )
        elif args.action == "show":
            if len(args.ids) != 1:
                print("twinbridge dead-letters show: give one ID (see `twinbridge dead-letters list`)", file=sys.stderr)
                return EXIT_CONFIG
            letter = deadletters.get(client, keys, args.ids[0])
            if letter is None:
                print(
                    f"twinbridge dead-letters: no dead letter {args.ids[0]} (purged, retried or expired)",
                    file=sys.stderr,
                )
                return 1
            print("\n".join(letter.details(with_text=args.text)))
        elif args.action == "retry":
            done = deadletters.retry(client, keys, args.ids, tasks=TaskQueue.for_settings(settings), link=args.link)
            print(f"{done} dead letter(s) put back into the outbox or the pipeline")
        else:
            print(f"{deadletters.purge(client, keys, args.ids, link=args.link)} dead letter(s) purged")
    except redis_lib.exceptions.ConnectionError as exc:
        print(
            f"twinbridge: Redis at {_strip_password(settings.redis_url)} is unreachable ({exc.__class__.__name__})",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_status(args) -> int:
    """`twinbridge status [--json]` (bridge/status.py): 0 all is well, 1 something needs attention."""
    import json

    import redis as redis_lib

    from core.storage.keys import Keys

    from . import status

    settings = _settings(args)
    config = _load_config(settings, strict_secrets=False)  # reading the state needs no policy secret
    client = _redis_client(settings.redis_url, decode_responses=True, socket_connect_timeout=5, socket_timeout=10)
    try:
        report = status.gather(client, Keys(settings.redis_prefix), settings, config)
    except (redis_lib.exceptions.ConnectionError, redis_lib.exceptions.TimeoutError) as exc:
        if not args.json:
            print(
                f"twinbridge: Redis at {_strip_password(settings.redis_url)} is unreachable ({exc.__class__.__name__})",
                file=sys.stderr,
            )
        report = status.unreachable_report()
    finally:
        client.close()
    report = status.finish(report, queue_limit=args.queue_limit)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        from rich.console import Console

        status.render(report, Console())
    return 0 if report["ok"] else 1


def cmd_health(args) -> int:
    """`twinbridge health --role ROLE`: 0 when Redis answers and this host's ROLE process
    beat within its heartbeat's TTL (a container's health check), 1 otherwise. Fast: no
    configuration is read, nothing heavy is imported."""
    import socket

    import redis as redis_lib

    from core.storage import heartbeats
    from core.storage.keys import Keys

    settings = _settings(args)
    client = _redis_client(settings.redis_url, decode_responses=True, socket_connect_timeout=2, socket_timeout=2)
    host = socket.gethostname()
    try:
        beats = heartbeats.alive(client, Keys(settings.redis_prefix), role=args.role, host=host)
    except (redis_lib.exceptions.ConnectionError, redis_lib.exceptions.TimeoutError) as exc:
        print(f"unhealthy: Redis does not answer ({exc.__class__.__name__})")
        return 1
    finally:
        client.close()
    if not beats:
        print(f"unhealthy: no `{args.role}` process on {host} has beaten in the last {heartbeats.TTL} s")
        return 1
    print(f"healthy: {len(beats)} `{args.role}` process(es) on {host}")
    return 0


def _user_ref(text: str) -> str | None:
    platform, _, user_id = (text or "").partition(":")
    return f"{platform}:{user_id}" if platform in ("telegram", "discord") and user_id.isdigit() else None


def cmd_rights(args) -> int:
    """`export` (Art. 15: everything stored about a user, as JSON) and `forget` (Art. 17)."""
    import json

    import redis as redis_lib

    from workers import erasure, rights

    from core import persons
    from core.storage.keys import Keys

    user = _user_ref(args.user)
    if user is None:
        print(
            f"twinbridge {args.command}: --user {args.user!r} is not a user; write it as telegram:<numeric id> "
            "or discord:<numeric id> (the id, not the name)",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    settings = _settings(args)
    config = _load_config(settings)
    client = _redis_client(settings.redis_url, decode_responses=True, socket_connect_timeout=5)
    keys = Keys(settings.redis_prefix)
    persons.use_secret(settings.pseudonym_key)
    try:
        if args.command == "export":
            print(
                json.dumps(
                    rights.export_user(client, keys, config, user, settings.pseudonym_key), indent=2, ensure_ascii=False
                )
            )
        else:
            done = rights.erase_user(client, keys, config, user)
            # Finish any erasure a crash interrupted (a worker does it too when it starts).
            erasure.resume(client, keys, config)
            print(
                f"erased what twinbridge kept about {user}: {done['consents']} consent record(s), "
                f"{done['held']} held message(s), {done['audit_entries']} audit entr(ies) pseudonymised, "
                f"{done['in_flight']} message(s) on their way dropped; {done['copies_to_delete']} relayed "
                f"cop(ies) and {done['notices_to_delete']} notice(s) showing their data queued for deletion, "
                f"{done['quotes_dropped']} quote(s) in others' replies queued for removal (the adapters do it "
                "where the platform still allows it)"
            )
    except redis_lib.exceptions.ConnectionError as exc:
        print(
            f"twinbridge: Redis at {_strip_password(settings.redis_url)} is unreachable ({exc.__class__.__name__})",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_announce(args) -> int:
    """`twinbridge announce` (bridge/announce.py)."""
    import redis as redis_lib

    from core.storage.keys import Keys

    from .announce import main as announce_main

    settings = _settings(args)
    config = _load_config(settings, strict_secrets=False)  # announcing needs no policy secret
    client = _redis_client(settings.redis_url, decode_responses=True, socket_connect_timeout=5)
    try:
        return announce_main(args, config, client, Keys(settings.redis_prefix))
    except redis_lib.exceptions.ConnectionError as exc:
        print(
            f"twinbridge: Redis at {_strip_password(settings.redis_url)} is unreachable ({exc.__class__.__name__}); "
            "run the same command again once it is back (it never sends a notice twice)",
            file=sys.stderr,
        )
        return 1
    finally:
        client.close()


def cmd_console(args) -> int:
    """`twinbridge console` (console/): the web console for organisers and moderators."""
    import uvicorn

    from console.app import create_app

    settings = _settings(args)
    config = _load_config(settings, strict_secrets=False)  # it reads and decides; the workers hold the secrets
    _check_schema(settings)
    if not settings.console_url:
        logging.getLogger("twinbridge.console").warning(
            "TWINBRIDGE_CONSOLE_URL is not set: /console cannot send sign-in links to this console"
        )
    logging.getLogger("twinbridge.console").info("the console listens on %s:%d", args.host, args.port)
    # No access log: a sign-in link's token is in its address. Our own logging stays as configured.
    uvicorn.run(
        create_app(settings, config),
        host=args.host,
        port=args.port,
        access_log=False,
        log_config=None,
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
    )
    return 0


def cmd_backup(args) -> int:
    """`twinbridge backup FILE` (core/storage/backup.py)."""
    import redis as redis_lib

    from core.storage import backup
    from core.storage.keys import Keys

    settings = _settings(args)
    path = os.path.abspath(args.file)
    if not os.path.isdir(os.path.dirname(path)):
        print(f"twinbridge backup: {os.path.dirname(path)} is not a directory", file=sys.stderr)
        return EXIT_CONFIG
    client = _redis_client(settings.redis_url, socket_connect_timeout=5, socket_timeout=60)
    try:
        counts = backup.backup(client, Keys(settings.redis_prefix), path)
    except (redis_lib.exceptions.ConnectionError, redis_lib.exceptions.TimeoutError) as exc:
        print(
            f"twinbridge: Redis at {_strip_password(settings.redis_url)} is unreachable ({exc.__class__.__name__}); "
            "no file written",
            file=sys.stderr,
        )
        return 1
    finally:
        client.close()
    print(
        f"{path}: {counts['kept']} key(s) of prefix {settings.redis_prefix!r} written; "
        f"{counts['skipped']} not kept (locks, leases, heartbeats, caches, counters), "
        f"{counts['gone']} expired while read"
        + (f", {counts['unclassified']} of no known family (kept)" if counts["unclassified"] else "")
    )
    return 0


def cmd_restore(args) -> int:
    """`twinbridge restore FILE [--prefix P] [--replace]` (core/storage/backup.py)."""
    import redis as redis_lib

    from workers import erasure

    from core import persons
    from core.storage import backup, migrations
    from core.storage.keys import Keys

    settings = _settings(args)
    try:
        header = backup.read_header(args.file)
    except backup.BackupError as exc:
        print(f"twinbridge restore: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    target = args.prefix if args.prefix is not None else settings.redis_prefix
    if header.get("prefix") != target and args.prefix is None:
        print(
            f"twinbridge restore: {args.file} was written under the key prefix {header.get('prefix')!r}; this "
            f"install uses {target!r}. To restore it under {target!r}, say so: --prefix {target!r}",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if backup.schema_of_file(header) > migrations.CURRENT:
        print(
            f"twinbridge restore: {args.file} was written by a newer twinbridge ({header.get('twinbridge')}, stored "
            f"formats version {backup.schema_of_file(header)}); upgrade this host",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    config = _load_config(settings)  # erasures made since the backup are taken back again
    keys = Keys(target)
    client = _redis_client(settings.redis_url, socket_connect_timeout=5, socket_timeout=60)
    text_client = _redis_client(settings.redis_url, decode_responses=True, socket_connect_timeout=5)
    try:
        live = migrations.stored_version(client, keys)
        if live is not None and live != backup.schema_of_file(header):
            print(
                f"twinbridge restore: this Redis holds stored formats version {live} under {target!r}, the file "
                f"version {backup.schema_of_file(header)}; restore into an empty prefix (see docs/operations.md)",
                file=sys.stderr,
            )
            return EXIT_CONFIG
        tombstones = backup.live_tombstones(client, keys)
        outcome = backup.restore(client, keys, args.file, replace=args.replace)
        persons.use_secret(settings.pseudonym_key)
        erased_again: set[str] = set()
        for user_ref in sorted(outcome.user_refs):
            person = persons.person(text_client, keys, user_ref)
            if person in tombstones:
                backup.reopen_erasure(client, keys, person, user_ref, tombstones[person])
                erased_again.add(person)
        if erased_again:
            erasure.resume(text_client, keys, config)
        for person in sorted(outcome.persons & tombstones.keys()):
            erasure.erase_person_keyed(text_client, keys, person)
            erased_again.add(person)
    except (redis_lib.exceptions.ConnectionError, redis_lib.exceptions.TimeoutError) as exc:
        print(
            f"twinbridge: Redis at {_strip_password(settings.redis_url)} is unreachable ({exc.__class__.__name__})",
            file=sys.stderr,
        )
        return 1
    finally:
        client.close()
        text_client.close()
    counts = outcome.counts
    print(
        f"{args.file}: {counts['restored']} key(s) restored under {target!r}; {counts['expired']} expired since the "
        f"backup (not restored), {counts['live_kept']} already live (left as they are"
        + ("" if args.replace else "; --replace overwrites them")
        + f"), {len(erased_again)} member(s) erased since the backup erased again"
        + (f"; {counts['failed']} could not be restored" if counts["failed"] else "")
    )
    return 1 if counts["failed"] else 0


def _health_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "--role",
        choices=("run", "worker", "scheduler", "console"),
        default="run",
        help="the process this container runs (default: run)",
    )
    return parser


def _health_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twinbridge health", description="exit 0 when Redis answers and this host's ROLE process is alive"
    )
    parser.add_argument("--config", metavar="PATH", help="accepted for symmetry; health reads no configuration")
    return _health_arguments(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="twinbridge", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", metavar="PATH", help="link definitions (default: $TWINBRIDGE_CONFIG or config/links.yaml)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", parents=[common], help="start the platform adapters that have tokens")
    worker = sub.add_parser(
        "worker", parents=[common], help="start a Celery worker on the stages' queues (extra args go to Celery)"
    )
    worker.add_argument(
        "--role",
        choices=("all", "moderation", "translation", "delivery"),
        default="all",
        help="moderation: route, consent, redaction, holds (the only worker that sees "
        "unredacted text); translation: translate moderated text and publish; "
        "delivery: the delivery queue (work that needs no text; the adapters deliver); "
        "all (default): every role in one process",
    )
    sub.add_parser(
        "scheduler",
        parents=[common],
        help="send scheduled announcements and their reminders when they are due "
        "(one is enough; a second may run beside it; stop with SIGTERM or Ctrl-C)",
    )
    sub.add_parser("check", parents=[common], help="validate the configuration (exit 0, or 2 with messages)")
    sub.add_parser("demo", parents=[common], help="the no-token showcase of the whole pipeline on this machine")
    from . import announce

    announce.add_arguments(
        sub.add_parser(
            "announce", parents=[common], help="send a notice (or an event notice) to every community of a link"
        )
    )
    dead = sub.add_parser(
        "dead-letters",
        parents=[common],
        help="posts that could not be delivered and events "
        "that could not be processed: list, show, retry "
        "or purge them",
    )
    dead.add_argument("action", choices=("list", "show", "retry", "purge"))
    dead.add_argument("ids", nargs="*", metavar="ID", help="only these entries (default: all; `show`: one)")
    dead.add_argument("--link", metavar="ID", help="only this link's entries")
    dead.add_argument("--text", action="store_true", help="`show`: also the text and the sender (personal data)")
    status = sub.add_parser(
        "status",
        parents=[common],
        help="what runs, what waits, last message across each link, held, dead letters, "
        "scheduled notices, Redis; exit 1 when something needs attention",
    )
    status.add_argument("--json", action="store_true", help="the report as JSON (keys: docs/operations.md)")
    status.add_argument(
        "--queue-limit",
        type=int,
        default=500,
        metavar="N",
        help="a queue or stream holding more than N items needs attention (default 500)",
    )
    _health_arguments(
        sub.add_parser(
            "health",
            parents=[common],
            help="exit 0 when Redis answers and this host's ROLE process is alive (for container health checks)",
        )
    )
    web = sub.add_parser(
        "console",
        parents=[common],
        help="the web console for organisers and moderators (sign in with /console in a private chat with the bot)",
    )
    web.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 in a container)"
    )
    web.add_argument("--port", type=int, default=8096, help="port to listen on (default 8096)")
    web.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        metavar="IPS",
        help="the reverse proxies whose X-Forwarded-Proto (https) is believed (default 127.0.0.1)",
    )
    saved = sub.add_parser(
        "backup", parents=[common], help="write the install's Redis state to FILE (gzip JSON lines; no locks, caches)"
    )
    saved.add_argument("file", metavar="FILE")
    back = sub.add_parser(
        "restore",
        parents=[common],
        help="restore a backup FILE (remaining TTLs; live keys and erasures made since win)",
    )
    back.add_argument("file", metavar="FILE")
    back.add_argument("--prefix", metavar="P", help="restore under this key prefix (needed when it is not the file's)")
    back.add_argument("--replace", action="store_true", help="overwrite keys that exist in Redis")
    for name, what in (("export", "GDPR access"), ("forget", "GDPR erasure")):
        p = sub.add_parser(name, parents=[common], help=f"{what} for one user")
        p.add_argument("--user", required=True, metavar="PLATFORM:ID")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["health"]:
        # A container health check runs this every few seconds: parsed apart, so that
        # the other commands' modules are not imported (it takes a fraction of a second).
        return cmd_health(_health_parser().parse_args(argv[1:]))
    parser = build_parser()
    # Everything after `worker` that we don't know goes to Celery.
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "worker":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    handlers = {
        "run": cmd_run,
        "check": cmd_check,
        "demo": cmd_demo,
        "dead-letters": cmd_dead_letters,
        "scheduler": cmd_scheduler,
        "announce": cmd_announce,
        "export": cmd_rights,
        "forget": cmd_rights,
        "status": cmd_status,
        "health": cmd_health,
        "backup": cmd_backup,
        "restore": cmd_restore,
        "console": cmd_console,
    }
    try:
        settings = _settings(args)
    except SettingsError as exc:
        print(f"twinbridge: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    # Every command logs through one privacy-safe formatter (core/logging_setup.py): JSON
    # lines, but for the demo, which a person watches, unless TWINBRIDGE_LOG_FORMAT is set.
    if args.command == "demo" and not os.environ.get("TWINBRIDGE_LOG_FORMAT"):
        settings = dataclasses.replace(settings, log_format="text")
    configure_from_settings(settings)
    try:
        if args.command == "worker":
            return cmd_worker(args, extra)
        return handlers[args.command](args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
