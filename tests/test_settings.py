"""Settings: environment, config file, and errors that name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from topmatch.errors import ConfigurationError
from topmatch.settings import load_settings


def test_defaults_put_everything_under_the_data_dir(tmp_path: Path) -> None:
    s = load_settings(data_dir=tmp_path)
    assert s.resolved_database_url() == f"sqlite:///{tmp_path / 'topmatch.db'}"
    assert s.resolved_key_file() == tmp_path / "node-key.pem"
    assert s.port == 8000


def test_environment_overrides_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "node.toml"
    config.write_text('node_id = "werkpad"\nport = 9000\n')
    monkeypatch.setenv("TOPMATCH_PORT", "9100")
    s = load_settings(config)
    assert (s.node_id, s.port) == ("werkpad", 9100)


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "node.toml"
    config.write_text('display_name = "Werkpad B.V."\n')
    monkeypatch.setenv("TOPMATCH_CONFIG_FILE", str(config))
    assert load_settings().display_name == "Werkpad B.V."


@pytest.mark.parametrize(
    ("env", "value", "named"),
    [
        ("TOPMATCH_PORT", "99999", "TOPMATCH_PORT"),
        ("TOPMATCH_NODE_ID", "Not An Id!", "TOPMATCH_NODE_ID"),
        ("TOPMATCH_PUBLIC_URL", "not a url", "TOPMATCH_PUBLIC_URL"),
        ("TOPMATCH_DATABASE_URL", "mysql://x", "TOPMATCH_DATABASE_URL"),
    ],
)
def test_invalid_settings_fail_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, named: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigurationError, match=named):
        load_settings()


def test_unknown_setting_in_config_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text("prot = 8000\n")
    with pytest.raises(ConfigurationError, match="PROT"):
        load_settings(config)


def test_malformed_or_missing_config_file(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text("port = = 1\n")
    with pytest.raises(ConfigurationError, match="cannot read config file"):
        load_settings(config)
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings(tmp_path / "absent.toml")


def test_a_bad_node_id_or_url_is_explained_in_words(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings(data_dir=tmp_path, node_id="Werkpad Utrecht", public_url="werkpad.nl")
    text = str(info.value)
    assert "TOPMATCH_NODE_ID (node_id): a node id is 2 to 63 characters" in text
    assert "TOPMATCH_PUBLIC_URL (public_url): not a full web address" in text
    assert "http:// or https://" in text
    assert "^[a-z0-9]" not in text
