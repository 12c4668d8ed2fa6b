"""Settings: defaults, the shipped files, and errors that point at file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import config

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "gateway.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def problem(tmp_path: Path, text: str) -> str:
    with pytest.raises(config.ConfigError) as error:
        config.load(write(tmp_path, text))
    return str(error.value)


def test_shipped_file_documents_exactly_the_built_in_defaults() -> None:
    assert config.load(ROOT / "config") == config.Settings()


def test_every_setting_is_in_the_shipped_file() -> None:
    text = (ROOT / "config" / "gateway.yaml").read_text()
    for name, field in config.Settings.model_fields.items():
        assert f"\n{name}:" in text, name
        section = field.default
        if isinstance(section, config._Section):
            for key in type(section).model_fields:
                assert f"\n  {key}:" in text, f"{name}.{key}"


def test_docker_config_is_valid() -> None:
    settings = config.load(ROOT / "config" / "docker")
    assert settings.relay.address == config.HostPort("mailpit", 1025)


def test_defaults_are_loopback() -> None:
    settings = config.Settings()
    for address in (settings.smtp.listen, settings.relay.address, settings.metrics.listen,
                    settings.review.listen):
        assert address.host == "127.0.0.1"
    assert (settings.smtp.listen.port, settings.relay.address.port) == (10025, 10026)
    assert (settings.metrics.listen.port, settings.review.listen.port) == (9465, 8025)


def test_flags_override_the_file(tmp_path: Path) -> None:
    write(tmp_path, "smtp:\n  listen: 127.0.0.1:2525\n  max_recipients: 5\nworkers: 3\n")
    settings = config.load(tmp_path, config.Overrides(listen="0.0.0.0:25", workers=1))
    assert settings.smtp.listen == config.HostPort("0.0.0.0", 25)
    assert settings.smtp.max_recipients == 5
    assert settings.workers == 1


# (yaml text, expected fragment of the error)
ERRORS = [
    ("smtp:\n  max_sessions: 0\n", "gateway.yaml:2: smtp.max_sessions: Input should be greater than or equal to 1"),
    ("relay:\n  adress: x:1\n", "gateway.yaml:2: relay.adress: unknown setting"),
    ("smtp:\n  trusted_networks:\n    - 10.0.0.0/8\n    - nowhere\n",
     "gateway.yaml:4: smtp.trusted_networks.1: not an IP network"),
    ("smtp:\n  listen: localhost\n", "gateway.yaml:2: smtp.listen: expected HOST:PORT"),
    ("relay:\n  address: 127.0.0.1:99999\n", "gateway.yaml:2: relay.address: port 99999 is out of range"),
    ("relay:\n  starttls: sometimes\n", "gateway.yaml:2: relay.starttls: Input should be 'off'"),
    ("relay:\n  ca_file: /nonexistent/ca.pem\n", "gateway.yaml:2: relay.ca_file: CA file"),
    ("smtp: [1, 2\n", "gateway.yaml:2: invalid YAML"),
    ("- just\n- a list\n", "gateway.yaml:1: the file must be a mapping"),
    ("log_level: loud\n", "gateway.yaml:1: log_level: Input should be"),
]


@pytest.mark.parametrize(("text", "expected"), ERRORS)
def test_errors_name_file_line_key_and_why(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in problem(tmp_path, text)


def test_bare_off_means_off(tmp_path: Path) -> None:
    assert config.load(write(tmp_path, "relay:\n  starttls: off\n")).relay.starttls == "off"


def test_bad_flag_is_named_as_the_flag(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match="flag --relay: relay.address"):
        config.load(None, config.Overrides(relay="nohost"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match="no such configuration file"):
        config.load(tmp_path / "absent")
