"""docs/deploy.md is followed word for word by volunteers: its commands must exist and its
Discord invite must grant exactly what the bridge uses (issue 16, "Done when")."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from bridge.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
SERVICES = set(yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"])

# Discord's permission bits (https://discord.com/developers/docs/topics/permissions), by the
# names the guide's table uses.
DISCORD_PERMISSIONS = {
    "Add Reactions": 1 << 6,
    "View Channels": 1 << 10,
    "Send Messages": 1 << 11,
    "Manage Messages": 1 << 13,
    "Attach Files": 1 << 15,
    "Read Message History": 1 << 16,
    "Manage Webhooks": 1 << 29,
    "Create Public Threads": 1 << 35,
    "Send Messages in Threads": 1 << 38,
    "Create Events": 1 << 44,
    "Send Voice Messages": 1 << 46,
    "Pin Messages": 1 << 51,  # split from Manage Messages in 2026
}
# What the bridge does that needs each (pins of announcements, native events, voice messages…).
NEEDED = set(DISCORD_PERMISSIONS)


def _invite_permissions(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"oauth2/authorize\?[^\s)`]*permissions=(\d+)", text)}


def test_the_invite_grants_exactly_the_permissions_in_the_table():
    (number,) = _invite_permissions(GUIDE)
    table = set(re.findall(r"^\s*\| ([A-Z][A-Za-z ]+?) \| ", GUIDE, flags=re.M)) & set(DISCORD_PERMISSIONS)
    assert table == NEEDED, f"the guide's table lacks {NEEDED - table}"
    assert number == sum(DISCORD_PERMISSIONS[name] for name in table)
    assert f"`{number}`" in GUIDE  # the sentence that explains the number


def test_the_readme_names_the_same_invite_number():
    (number,) = _invite_permissions(GUIDE)
    assert f"permissions={number}" in README


def _shell_lines() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", GUIDE, flags=re.S)
    lines: list[str] = []
    for block in blocks:
        joined = block.replace("\\\n", " ")
        lines += [line.split("  #")[0].strip() for line in joined.splitlines() if line.strip()]
    return lines


def test_every_docker_compose_command_names_a_real_service_and_twinbridge_command():
    commands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    seen = 0
    for line in _shell_lines():
        tokens = shlex.split(line.replace("$(", "("), posix=True)
        parts: list[list[str]] = [[]]
        for token in tokens:
            if token in ("&&", ";"):
                parts.append([])
            else:
                parts[-1].append(token.rstrip(";"))
        for words in parts:
            if words[:2] != ["docker", "compose"]:
                continue
            seen += 1
            rest = [w for w in words[2:] if w not in ("--profile", "monitor")]
            verb, args = rest[0], rest[1:]
            names = [w for w in args if not w.startswith("-")]
            if verb == "run":
                # run [options] SERVICE [twinbridge command …]: skip the options' values
                skip = {"-v", "--entrypoint"}
                plain = [w for i, w in enumerate(args) if not w.startswith("-") and args[i - 1] not in skip]
                service, command = plain[0], plain[1:]
                assert service in SERVICES, line
                if service != "redis" and command:
                    assert command[0] in commands, f"`twinbridge {command[0]}` does not exist: {line}"
            elif verb == "exec":
                service, command = names[0], names[1:]
                assert service in SERVICES, line
                if command[0] == "twinbridge":
                    assert command[1] in commands, f"`twinbridge {command[1]}` does not exist: {line}"
            elif verb == "cp":
                assert names[0].split(":")[0] in SERVICES, line
            elif verb in ("stop", "logs", "up", "ps", "build", "pull", "down", "version"):
                for name in names:
                    if ":" not in name and not name.isdigit():
                        assert name in SERVICES, f"no service {name!r}: {line}"
    assert seen >= 15


def test_the_steps_are_numbered_in_order():
    numbers = [int(n) for n in re.findall(r"^## (\d+)\. ", GUIDE, flags=re.M)]
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) >= 14
