"""Config: unknown keys are errors naming the key; secrets from the environment; check-config exit codes."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, parse_config

GOOD = """
[matrix]
homeserver = "https://matrix.example.org"
user_id = "@plenum:example.org"
password = "secret"

[bot]
admins = ["@alice:example.org"]

[[mastodon]]
name = "main"
api_base_url = "https://social.example"
access_token = "token"
"""


def test_good_config_and_defaults():
    c = parse_config(GOOD, env={})
    assert c.bot.language == "de" and c.bot.timezone == "Europe/Berlin"
    assert c.bot.approvals_required == 1 and c.bot.catch_up_minutes == 15
    assert c.mastodon[0].access_token.get_secret_value() == "token"
    assert "secret" not in repr(c)


def test_unknown_keys_are_errors_naming_the_key():
    with pytest.raises(ConfigError) as err:
        parse_config(GOOD.replace("[bot]", "[bot]\nlanguag = \"de\""), env={})
    assert err.value.problems == ["bot.languag: unknown key"]


def test_one_line_per_problem():
    text = GOOD.replace('user_id = "@plenum:example.org"', 'user_id = "plenum"').replace(
        "[bot]", '[bot]\ntimezone = "Mars/Olympus"')
    with pytest.raises(ConfigError) as err:
        parse_config(text, env={})
    keys = sorted(p.split(":")[0] for p in err.value.problems)
    assert keys == ["bot.timezone", "matrix.user_id"]


def test_secrets_from_environment():
    text = GOOD.replace('password = "secret"\n', "").replace('access_token = "token"\n', "")
    with pytest.raises(ConfigError) as err:
        parse_config(text, env={})
    assert any(p.startswith("matrix") for p in err.value.problems)
    assert any(p.startswith("mastodon.0") for p in err.value.problems)
    c = parse_config(text, env={"PLENUM_MATRIX_ACCESS_TOKEN": "t1", "PLENUM_MASTODON_MAIN_TOKEN": "t2"})
    assert c.matrix.access_token.get_secret_value() == "t1"
    assert c.mastodon[0].access_token.get_secret_value() == "t2"


def test_example_config_is_valid():
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    parse_config(example.read_text(), env={})


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=60)


def test_check_config_cli(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(GOOD)
    assert run_cli("check-config", "--config", str(good)).returncode == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace("[bot]", "[bot]\nfoo = 1\nlanguage = \"fr\""))
    result = run_cli("check-config", "--config", str(bad))
    assert result.returncode != 0
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("bot.") and lines[1].startswith("bot.")
    assert "secret" not in result.stdout + result.stderr


def test_values_are_checked_by_type_and_range():
    text = GOOD.replace("[bot]", '[bot]\napprovals_required = 9\nrate_limit = "many"\nlanguage = "fr"\n'
                        'admins = ["alice"]')
    with pytest.raises(ConfigError) as err:
        parse_config(text.replace('admins = ["@alice:example.org"]\n', ""), env={})
    assert sorted(err.value.problems) == ["bot.admins: not Matrix user ids: alice",
                                          "bot.approvals_required: must be at most 5",
                                          "bot.language: must be one of 'de', 'en'",
                                          "bot.rate_limit: must be a whole number"]


def test_missing_and_duplicate_sections_name_the_key():
    with pytest.raises(ConfigError) as err:
        parse_config('[bot]\nlanguage = "en"\n', env={})
    assert err.value.problems == ["matrix.homeserver: field required", "matrix.user_id: field required"]
    twice = GOOD + '[[mastodon]]\nname = "main"\napi_base_url = "https://x.example"\naccess_token = "t"\n'
    with pytest.raises(ConfigError) as err:
        parse_config(twice, env={})
    assert err.value.problems == ["mastodon: account names must be unique"]


def test_relative_data_dir_is_resolved_next_to_the_file(tmp_path):
    path = tmp_path / "plenum.toml"
    path.write_text(GOOD.replace("[bot]", '[bot]\ndata_dir = "state"'))
    from bot.config import load_config

    assert load_config(path, env={}).bot.data_dir == (tmp_path / "state").resolve()


def test_every_key_the_pydantic_model_took_is_still_taken():
    """The hand-written checks replaced pydantic (issue 15): `cross_signing` and quoted numbers must still read."""
    text = GOOD.replace('password = "secret"', 'password = "secret"\ncross_signing = false').replace(
        'access_token = "token"', 'access_token = "token"\npoll_seconds = "30"')
    c = parse_config(text, env={})
    assert c.matrix.cross_signing is False and c.mastodon[0].poll_seconds == 30
    with pytest.raises(ConfigError) as err:
        parse_config(GOOD.replace('access_token = "token"', 'access_token = "token"\npoll_seconds = "soon"'), env={})
    assert err.value.problems == ["mastodon.0.poll_seconds: must be a whole number"]


def test_database_section_url_env_and_errors():
    assert parse_config(GOOD, env={}).database.url is None  # absent: SQLite in data_dir
    c = parse_config(GOOD + '\n[database]\nurl = "postgresql://plenum:pw@db.example/plenum"\n', env={})
    assert c.database.url.get_secret_value() == "postgresql://plenum:pw@db.example/plenum"
    assert "pw@" not in repr(c)
    c = parse_config(GOOD, env={"PLENUM_DATABASE_URL": "postgresql://plenum@db.example/other"})
    assert c.database.url.get_secret_value().endswith("/other")
    with pytest.raises(ConfigError) as err:
        parse_config(GOOD + '\n[database]\nurl = "postgresql://x@h/db"\npool = 3\n', env={})
    assert err.value.problems == ["database.pool: unknown key"]
    for bad, says in [("mysql://x@h/db", "must start with postgresql://"), ("postgresql://x@h", "names no database"),
                      ("postgresql://x@h:port/db", "is not a URL")]:
        with pytest.raises(ConfigError) as err:
            parse_config(GOOD + f'\n[database]\nurl = "{bad}"\n', env={})
        [problem] = err.value.problems
        assert problem.startswith("database.url: ") and says in problem, problem


def test_check_config_names_a_bad_database_url_and_shows_no_password(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(GOOD + '\n[database]\nurl = "postgres://plenum:hunter22@db.example"\n')
    result = run_cli("check-config", "--config", str(path))
    assert result.returncode == 1
    assert result.stdout.startswith("database.url: ") and "names no database" in result.stdout
    path.write_text(GOOD + '\n[database]\nurl = "postgresql://plenum:hunter22@db.example/plenum"\n')
    result = run_cli("check-config", "--config", str(path))
    assert result.returncode == 0 and "database: PostgreSQL db.example/plenum" in result.stdout
    assert "hunter22" not in result.stdout + result.stderr


def test_crypto_commands_that_change_keys_refuse_with_postgresql(tmp_path):
    """With PostgreSQL the start rewrites data_dir from the database: such a change would be undone."""
    path = tmp_path / "c.toml"
    path.write_text(GOOD + '\n[database]\nurl = "postgresql://plenum@127.0.0.1:1/plenum"\n')
    for command in (["reset-identity", "--yes"], ["export-recovery-key"], ["restore"]):
        result = subprocess.run([sys.executable, "-m", "bot", "crypto", *command, "--config", str(path)],
                                input="", capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, (command, result.stderr)
        assert "does not work with [database] url (PostgreSQL) yet" in result.stderr
