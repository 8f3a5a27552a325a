from __future__ import annotations

from pathlib import Path

import pytest

from bts_desk.config import load_settings, save_user_values
from bts_desk.errors import ConfigError


def test_layers_override_in_order(tmp_path: Path) -> None:
    machine = tmp_path / "machine.toml"
    user = tmp_path / "user.toml"
    machine.write_text('[scanner]\nport = "COM3"\nbaudrate = 115200\n[sync]\nurl = "https://m"\n')
    user.write_text('[scanner]\nport = "COM7"\n')
    env = {"BTS_DESK_SYNC_INTERVAL_S": "60", "BTS_DESK_CAMERA_WIDTH": "1920"}
    s = load_settings(machine_file=machine, user_file=user, env=env, registry=False)
    assert s.scanner.port == "COM7"  # user beats machine
    assert s.scanner.baudrate == 115200  # machine beats default
    assert s.sync.url == "https://m"
    assert s.sync.interval_s == 60  # env beats all
    assert s.camera.width == 1920  # env strings are typed
    assert s.camera.height == 720  # default


def test_bad_value_names_file_and_key(tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    user.write_text('[camera]\nwidth = "wide"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(machine_file=tmp_path / "none", user_file=user, env={}, registry=False)
    assert "camera.width" in info.value.detail
    assert "配置" in info.value.user_message


def test_broken_toml_is_a_config_error(tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    user.write_text("[camera\n")
    with pytest.raises(ConfigError):
        load_settings(machine_file=tmp_path / "none", user_file=user, env={}, registry=False)


def test_unknown_keys_are_ignored_not_fatal(tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    user.write_text('[nosuch]\na = 1\n[scanner]\nwhat = 2\nport = "/dev/ttyUSB0"\n')
    s = load_settings(machine_file=tmp_path / "none", user_file=user, env={}, registry=False)
    assert s.scanner.port == "/dev/ttyUSB0"


def test_save_user_values_round_trip(tmp_path: Path) -> None:
    user = tmp_path / "cfg" / "user.toml"
    save_user_values("scanner", {"driver": "r30x", "port": "COM4"}, path=user)
    save_user_values("camera", {"source": "1"}, path=user)
    s = load_settings(machine_file=tmp_path / "none", user_file=user, env={}, registry=False)
    assert (s.scanner.port, s.camera.source) == ("COM4", "1")


def test_database_url_defaults_into_data_dir(tmp_path: Path) -> None:
    s = load_settings(machine_file=tmp_path / "n", user_file=tmp_path / "n", env={}, registry=False)
    s = s.replace("paths", data_dir=str(tmp_path / "d"))
    assert s.database_url == f"sqlite:///{tmp_path / 'd' / 'desk.db'}"


def test_security_settings_come_only_from_the_machine_layer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    machine = tmp_path / "machine.toml"
    machine.write_text('[sync]\nurl = "https://sync.gov"\nca_cert = "/etc/bts-desk/sync-ca.pem"\n')
    user = tmp_path / "user.toml"
    user.write_text(
        '[sync]\nurl = "https://rogue"\nca_cert = "/tmp/rogue.pem"\n'
        '[card]\nca_cert = "/tmp/ca.pem"\ncrl = "/tmp/x.crl"\nreader = "ACS"\n'
        '[security]\nkey_file = "/tmp/k"\n'
    )
    env = {"BTS_DESK_SYNC_URL": "https://env-rogue", "BTS_DESK_CARD_CA_CERT": "/tmp/e.pem"}
    s = load_settings(machine_file=machine, user_file=user, env=env, registry=False)
    assert (s.sync.url, s.sync.ca_cert) == ("https://sync.gov", "/etc/bts-desk/sync-ca.pem")
    assert (s.card.ca_cert, s.card.crl, s.security.key_file) == ("", "", "")
    assert s.card.reader == "ACS"  # the device panel's per-user settings still apply
    assert "machine-wide setting" in caplog.text
    trusted = load_settings(
        machine_file=machine, user_file=user, env=env, registry=False, trust_user_security=True
    )
    assert (trusted.sync.url, trusted.card.ca_cert) == ("https://env-rogue", "/tmp/e.pem")
