"""Settings: environment, config file, and errors that name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from topmatch.errors import ConfigurationError
from topmatch.settings import load_settings, require_node


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


@pytest.mark.parametrize(
    ("url", "overrides", "expected"),
    [
        ("http://127.0.0.1:8101", {}, ("127.0.0.1", 8101)),  # `init --url` names the port
        ("http://localhost:8102/", {}, ("localhost", 8102)),
        ("http://[::1]:8103", {}, ("::1", 8103)),
        ("https://topmatch.baanbrekers.nl", {}, ("127.0.0.1", 8000)),  # behind a proxy, on 443
        ("https://topmatch.baanbrekers.nl:8443", {}, ("127.0.0.1", 8443)),  # never its host
        ("http://127.0.0.1:8101", {"port": 9000}, ("127.0.0.1", 9000)),  # a set port wins
        ("http://127.0.0.2:8101", {"host": "0.0.0.0"}, ("0.0.0.0", 8101)),  # noqa: S104
        (None, {}, ("127.0.0.1", 8000)),
    ],
)
def test_serve_listens_where_the_nodes_own_url_says_unless_told_otherwise(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    url: str | None,
    overrides: dict[str, object],
    expected: tuple[str, int],
) -> None:
    for name in ("HOST", "PORT", "PUBLIC_URL", "CONFIG_FILE"):
        monkeypatch.delenv(f"TOPMATCH_{name}", raising=False)
    settings = load_settings(data_dir=tmp_path, public_url=url, **overrides)
    assert settings.listen_address() == expected


def test_a_port_from_the_environment_beats_the_urls_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOPMATCH_PORT", "8000")  # as the container image sets it
    settings = load_settings(data_dir=tmp_path, public_url="http://werkpad:8080")
    assert settings.listen_address() == ("127.0.0.1", 8000)


def test_a_node_is_required_where_one_is_expected(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "nowhere")
    with pytest.raises(ConfigurationError, match="no Topmatch node here") as caught:
        require_node(settings, tmp_path / "nowhere" / "topmatch.toml")
    assert str(tmp_path / "nowhere") in caught.value.message
    (tmp_path / "nowhere").mkdir()
    require_node(settings, tmp_path / "nowhere" / "topmatch.toml")


def test_a_bad_node_id_is_explained_in_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPMATCH_NODE_ID", "Werk Pad")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert "TOPMATCH_NODE_ID" in caught.value.message
    assert "lower-case letters a-z, digits and hyphens" in caught.value.message
    assert "[a-z0-9]" not in caught.value.message


def test_a_bad_node_id_or_url_is_explained_in_words(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings(data_dir=tmp_path, node_id="Werkpad Utrecht", public_url="werkpad.nl")
    text = str(info.value)
    assert "TOPMATCH_NODE_ID (node_id): a node id is 2 to 63 characters" in text
    assert "TOPMATCH_PUBLIC_URL (public_url): not a full web address" in text
    assert "http:// or https://" in text
    assert "^[a-z0-9]" not in text
