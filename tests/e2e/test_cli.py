"""The command line as a deployer meets it: clear answers, exit codes, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

from ..processes import run_cli

ROOT = Path(__file__).resolve().parents[2]


def test_check_accepts_the_example():
    result = run_cli(["check", "--config", str(ROOT / "config" / "links.example.yaml")])
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_a_malformed_redis_url_stops_check_and_worker_with_exit_2_naming_it():
    example = str(ROOT / "config" / "links.example.yaml")
    for url, says in (
        ("redis://:s3cret@redis.example:port/0", "REDIS_URL is malformed"),
        (
            "sentinel://:s3cret@s1:26379;sentinel://s2:26379/0",
            "?master_name=NAME or set TWINBRIDGE_REDIS_SENTINEL_MASTER",
        ),
        ("https://redis.example", "must start with redis://, rediss://, unix:// or sentinel://"),
    ):
        for command in (["check"], ["worker", "--role", "delivery"]):
            result = run_cli([*command, "--config", example], env={"REDIS_URL": url}, timeout=30)
            assert result.returncode == 2, (command, url, result.stderr)
            assert says in result.stderr and "Traceback" not in result.stderr, result.stderr
            assert "s3cret" not in result.stderr + result.stdout


def test_check_rejects_a_broken_config_with_file_field_and_fix(tmp_path):
    broken = tmp_path / "links.yaml"
    broken.write_text(
        (ROOT / "config" / "links.example.yaml")
        .read_text()
        .replace("language: de", "language: german")
        .replace("communities: [leicester, krefeld]", "communities: [leicester, krefled]")
    )
    result = run_cli(["check", "--config", str(broken)])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{broken}: communities.krefeld.language" in result.stderr
    assert f"{broken}: links[0].communities[1]: unknown community 'krefled'" in result.stderr
    assert "did you mean 'krefeld'" in result.stderr
    assert result.stderr.count("fix:") == 2


def test_check_names_a_wrong_link_organiser_with_the_fix(tmp_path):
    broken = tmp_path / "links.yaml"
    broken.write_text(
        (ROOT / "config" / "links.example.yaml")
        .read_text()
        .replace('organisers: ["telegram:', 'organisers: ["telegramm:', 1)
    )
    result = run_cli(["check", "--config", str(broken)])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{broken}: links[4].organisers: 'telegramm:" in result.stderr
    assert 'fix: write organisers as "telegram:<user id>"' in result.stderr


def test_announce_to_an_unknown_link_says_which_exist(tmp_path, redis_url, prefix):
    env = {"REDIS_URL": redis_url, "TWINBRIDGE_REDIS_PREFIX": prefix}
    example = str(ROOT / "config" / "links.example.yaml")
    result = run_cli(["announce", "--config", example, "--link", "leicester-krefled", "Hello"], env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (
        "there is no link 'leicester-krefled'" in result.stderr and "did you mean 'leicester-krefeld'" in result.stderr
    )


def test_check_reads_twinbridge_config_from_the_environment(tmp_path):
    bad = tmp_path / "other.yaml"
    bad.write_text("version: 1\ncommunities: {}\nlinks: []\n")
    result = run_cli(["check"], env={"TWINBRIDGE_CONFIG": str(bad)})
    assert result.returncode == 2 and str(bad) in result.stderr


def test_check_on_a_missing_file_says_how_to_start(tmp_path):
    result = run_cli(["check"], cwd=tmp_path, env={"TWINBRIDGE_CONFIG": ""})
    assert result.returncode == 2
    assert "config/links.yaml" in result.stderr and "links.example.yaml" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_without_tokens_points_to_the_demo(tmp_path):
    result = run_cli(
        ["run", "--config", str(ROOT / "config" / "links.example.yaml")],
        env={"TELEGRAM_BOT_TOKEN": "", "DISCORD_BOT_TOKEN": ""},
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "twinbridge demo" in result.stderr


def test_check_reports_translation_it_cannot_do(tmp_path):
    links = tmp_path / "links.yaml"
    links.write_text("""
version: 1
communities:
  leicester: {name: Leicester, language: en, chats: [{telegram: -1001}]}
  rajkot: {name: Rajkot, language: gu, chats: [{telegram: -1002}]}
  krefeld: {name: Krefeld, language: de, chats: [{telegram: -1003}]}
links:
  - {id: gujarati, communities: [leicester, rajkot], policy: paid}
  - {id: german, communities: [leicester, krefeld], policy: paid, glossary: [Krefeld Zoo]}
policies:
  paid: {base: community, translation: [deepl, microsoft], translation_cache_days: 60}
""")
    result = run_cli(["check", "--config", str(links)])
    assert result.returncode == 2  # a cache may not outlive the retention (30 days)
    assert "policies.paid.translation_cache_days" in result.stderr and "use at most 30" in result.stderr

    links.write_text(links.read_text().replace("translation_cache_days: 60", "translation_cache_days: 7"))
    result = run_cli(["check", "--config", str(links)], env={"DEEPL_API_KEY": "k"})
    assert result.returncode == 0, result.stderr
    assert "translation provider microsoft cannot be used: needs MICROSOFT_API_KEY" in result.stdout
    assert "gujarati: deepl cannot translate en→gu" in result.stdout
    assert "gujarati: no provider the policy allows can translate gu→en here" in result.stdout
    assert "note: german:" not in result.stdout  # DeepL translates en↔de


def test_export_and_forget_on_the_command_line(tmp_path, redis_url, prefix, sync_redis):
    env = {"REDIS_URL": redis_url, "TWINBRIDGE_REDIS_PREFIX": prefix}
    example = str(ROOT / "config" / "links.example.yaml")
    bad = run_cli(["export", "--config", example, "--user", "anna"], env=env)
    assert bad.returncode == 2 and "telegram:<numeric id>" in bad.stderr and "Traceback" not in bad.stderr
    sync_redis.set(f"{prefix}consent:leicester-krefeld:telegram:5001", "1", ex=3600)
    exported = run_cli(["export", "--config", example, "--user", "telegram:5001"], env=env)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["consent"][0]["link"] == "leicester-krefeld"
    forgot = run_cli(["forget", "--config", example, "--user", "telegram:5001"], env=env)
    assert forgot.returncode == 0 and "1 consent record(s)" in forgot.stdout
    assert not sync_redis.exists(f"{prefix}consent:leicester-krefeld:telegram:5001")
