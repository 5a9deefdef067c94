"""docker-compose.yml keeps its promises (docs/deploy.md relies on them), checked without a
Docker engine: every service's command is a real `twinbridge` command, every image is pinned,
Redis is durable, password-protected and not published, the configuration is read-only and
no secret is written in the file. Where the Docker CLI has its compose plugin,
`docker compose config` must accept the file too."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bridge.cli import build_parser
from core.settings import load_settings
from core.storage.keys import Keys

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
TWINBRIDGE_IMAGE = "twinbridge:"
SECRET_NAME = re.compile(r"TOKEN|KEY|PASSWORD|SECRET|AUTH|APPID|APPKEY|CLIENT_ID")


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _services() -> dict[str, dict]:
    return _compose()["services"]


def _ours() -> dict[str, dict]:
    return {name: s for name, s in _services().items() if str(s.get("image", "")).startswith(TWINBRIDGE_IMAGE)}


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def test_the_stack_has_every_part():
    services = _services()
    assert {"redis", "libretranslate", "adapters", "moderation", "translation", "scheduler", "flower"} <= set(services)
    assert set(_ours()) == {"adapters", "moderation", "translation", "scheduler", "console"}
    for name, service in _ours().items():
        assert service.get("build") == ".", name


def test_every_command_of_ours_is_a_real_twinbridge_command():
    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    roles = {}
    for name, service in _ours().items():
        command = service["command"]
        assert isinstance(command, list) and command, f"{name}: the command is a list of arguments"
        assert command[0] in commands, f"{name}: `twinbridge {command[0]}` does not exist"
        args, extra = parser.parse_known_args(command)
        if args.command == "worker":
            roles[name] = args.role
            assert extra == ["--concurrency", "2"], name  # what goes to Celery
        else:
            assert extra == [], f"{name}: unknown arguments {extra}"
    assert roles == {"moderation": "moderation", "translation": "translation"}
    assert _ours()["adapters"]["command"] == ["run"]
    assert _ours()["scheduler"]["command"] == ["scheduler"]


def test_health_checks_of_ours_are_real_twinbridge_commands():
    parser = build_parser()
    for name, service in _ours().items():
        test = service["healthcheck"]["test"]
        assert test[:2] == ["CMD", "twinbridge"], name
        args, extra = parser.parse_known_args(test[2:])
        assert args.command == "health", name
        assert extra == [], f"{name}: unknown arguments {extra}"


def test_every_image_is_pinned_to_a_version():
    for name, service in _services().items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag, f"{name}: {image} has no tag"
        assert tag != "latest" and re.search(r"\d+\.\d+\.\d+", tag), f"{name}: {image} is not an exact version"
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    bases = re.findall(r"^FROM\s+(\S+)", dockerfile, flags=re.M)
    assert bases and all(re.search(r":\d+\.\d+\.\d+", base) for base in bases), bases


def test_the_image_holds_every_package_of_ours():
    """Each package pyproject.toml installs is copied into the image (the console's was not, at first)."""
    import tomllib

    found = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {name.rstrip("*") for name in found["tool"]["setuptools"]["packages"]["find"]["include"]}
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied = set(re.findall(r"^COPY\s+(\w+)\s+\./\1\s*$", dockerfile, flags=re.M))
    assert packages <= copied, f"Dockerfile: COPY {sorted(packages - copied)}"


def test_redis_is_durable_bounded_protected_and_not_published():
    redis = _services()["redis"]
    assert "ports" not in redis and "network_mode" not in redis
    command = " ".join(redis["command"])
    for setting in ("--appendonly yes", "--appendfsync everysec", "--maxmemory-policy noeviction", "requirepass"):
        assert setting in command, setting
    assert redis["environment"]["REDIS_PASSWORD"].startswith("${REDIS_PASSWORD")
    assert redis["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]
    assert redis["environment"]["REDISCLI_AUTH"].startswith("${REDIS_PASSWORD")  # the health check signs in
    assert any(volume.endswith(":/data") for volume in redis["volumes"])
    assert "redis-data" in _compose()["volumes"]
    for name, service in _ours().items():
        url = _environment(service)["REDIS_URL"]
        assert url.startswith("redis://:${REDIS_PASSWORD") and url.endswith("@redis:6379/0"), name
        assert service["depends_on"]["redis"]["condition"] == "service_healthy", name


def test_the_configuration_is_mounted_read_only_and_no_bind_mount_is_writable():
    for name, service in _services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/")):
                assert volume.endswith(":ro"), f"{name}: {volume} is writable"
    for name, service in _ours().items():
        assert "./config:/app/config:ro" in service["volumes"], name
        assert _environment(service)["TWINBRIDGE_CONFIG"] == "/app/config/links.yaml", name


def test_no_secret_is_written_in_the_file():
    text = COMPOSE.read_text(encoding="utf-8")
    assert not re.search(r"\d{6,}:[A-Za-z0-9_-]{30,}", text), "a Telegram token"
    assert not re.search(r"[A-Za-z0-9_-]{24,}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}", text), "a Discord token"
    for name, service in _services().items():
        for key, value in _environment(service).items():
            if SECRET_NAME.search(key):
                assert value in ("", "true", "false") or value.startswith("${"), f"{name}: {key} is written here"
            assert "@" not in value or "${" in value.split("@", 1)[0], f"{name}: {key} holds a credential"
    for name, service in _ours().items():
        assert service["env_file"] == ".env", name


def test_workers_and_the_scheduler_get_no_bot_token_and_translators_no_policy_secret():
    for name in ("moderation", "translation", "scheduler"):
        env = _environment(_ours()[name])
        assert env["TELEGRAM_BOT_TOKEN"] == "" and env["DISCORD_BOT_TOKEN"] == "", name
    for name in ("translation", "scheduler"):
        assert _environment(_ours()[name])["TWINBRIDGE_PSEUDONYM_KEY"] == "", name
    assert "TELEGRAM_BOT_TOKEN" not in _environment(_ours()["adapters"])  # theirs, from .env


def test_restart_policies_and_memory_limits_everywhere():
    limits = {}
    for name, service in _services().items():
        assert service.get("restart") == "unless-stopped", name
        limit = service.get("mem_limit")
        assert limit and re.fullmatch(r"\d+[mg]", limit), f"{name}: no memory limit"
        limits[name] = int(limit[:-1]) * (1024 if limit.endswith("g") else 1)
    # docs/benchmarks.md: adapters 194 MB RSS under load; a worker with 2 pool processes 191 MB PSS,
    # its largest process 157 MB. Each limit leaves headroom above what was measured.
    assert limits["adapters"] >= 194 * 1.5
    assert limits["moderation"] >= 191 * 2 and limits["translation"] >= 191 * 2


def test_the_monitor_is_on_loopback_behind_a_password_and_off_by_default():
    flower = _services()["flower"]
    assert flower["profiles"] == ["monitor"]
    assert flower["image"].startswith("mher/flower:")
    assert all(port.startswith("127.0.0.1:") for port in flower["ports"])
    assert flower["environment"]["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH")
    for name, service in _services().items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port} is published beyond this machine"


def _flower_config(monkeypatch, basic_auth: str | None):
    if basic_auth is None:
        monkeypatch.delenv("FLOWER_BASIC_AUTH", raising=False)
    else:
        monkeypatch.setenv("FLOWER_BASIC_AUTH", basic_auth)
    spec = importlib.util.spec_from_file_location("celeryconfig", ROOT / "deploy" / "flower" / "celeryconfig.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_monitor_will_not_start_without_its_password(monkeypatch):
    for basic_auth in (None, "", "admin", "admin:", ":pw"):
        with pytest.raises(SystemExit, match="FLOWER_BASIC_AUTH"):
            _flower_config(monkeypatch, basic_auth)
    assert _flower_config(monkeypatch, "admin:pw").broker_transport_options


def test_no_required_variable_in_a_service_started_only_by_a_profile():
    """Compose interpolates every service before it applies profiles: a `${X:?}` in the
    monitor would stop a plain `docker compose up -d` while X is empty (as .env.example has it)."""

    def required(service: dict) -> set[str]:
        return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):\?", yaml.safe_dump(service)))

    always = set().union(*(required(s) for s in _services().values() if not s.get("profiles")))
    assert "REDIS_PASSWORD" in always
    for name, service in _services().items():
        if service.get("profiles"):
            extra = required(service) - always
            assert not extra, f"{name} is started only by a profile but requires {extra}"


def test_the_monitor_uses_the_workers_broker_prefix(monkeypatch):
    for prefix in (None, "club:"):
        if prefix is None:
            monkeypatch.delenv("TWINBRIDGE_REDIS_PREFIX", raising=False)
        else:
            monkeypatch.setenv("TWINBRIDGE_REDIS_PREFIX", prefix)
        module = _flower_config(monkeypatch, "admin:pw")
        expected = Keys(load_settings(env={} if prefix is None else {"TWINBRIDGE_REDIS_PREFIX": prefix}).redis_prefix)
        assert module.broker_transport_options["global_keyprefix"] == expected.broker_prefix()


def test_settings_show_no_secret_in_their_repr():
    """A worker's settings travel in Celery's `inspect conf` answer, which Flower shows."""
    settings = load_settings(
        env={
            "REDIS_URL": "redis://:hunter2pw@redis:6379/0",
            "TELEGRAM_BOT_TOKEN": "123456:tg-secret",
            "DISCORD_BOT_TOKEN": "dc-secret",
            "LIBRETRANSLATE_API_KEY": "lt-secret",
            "TWINBRIDGE_PSEUDONYM_KEY": "pk-secret",
            "DEEPL_API_KEY": "deepl-secret",
        }
    )
    text = repr(settings)
    for secret in ("hunter2pw", "tg-secret", "dc-secret", "lt-secret", "pk-secret", "deepl-secret"):
        assert secret not in text


def _readme_variables() -> set[str]:
    """Every variable README.md's tables name (the environment table, the translation providers')."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("|")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9]*_[A-Z0-9_]+)`", row)}


def test_env_example_names_every_variable_of_the_readme():
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    named = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, flags=re.M))
    readme = _readme_variables()
    assert {"REDIS_URL", "TELEGRAM_BOT_TOKEN", "TWINBRIDGE_PSEUDONYM_KEY", "DEEPL_API_KEY"} <= readme
    assert readme - named == set(), "add these to .env.example, commented"
    # and every ${VARIABLE} docker-compose.yml reads from .env
    compose_vars = set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", COMPOSE.read_text(encoding="utf-8")))
    assert compose_vars - named == set()
    # Nothing is filled in: an example holds no secret.
    for line in example.splitlines():
        key, _, value = line.partition("=")
        if not line.startswith("#") and SECRET_NAME.search(key):
            assert value == "", f"{key} has a value in .env.example"


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode != 0,
    reason="no `docker compose` here: the checks above stand in for `docker compose config`",
)
def test_docker_compose_config_accepts_the_file(tmp_path):
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    env = (ROOT / ".env.example").read_text(encoding="utf-8")
    env = env.replace("REDIS_PASSWORD=\n", "REDIS_PASSWORD=0123abcd\n").replace(
        "FLOWER_BASIC_AUTH=\n", "FLOWER_BASIC_AUTH=admin:pw\n"
    )
    (tmp_path / ".env").write_text(env, encoding="utf-8")
    for profile in ([], ["--profile", "monitor"]):
        result = subprocess.run(
            ["docker", "compose", *profile, "config", "--quiet"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
