"""Static checks of the container packaging: docker-compose.yml, Dockerfile, config/docker.

No Docker engine is needed: the files are parsed and cross-checked so that the
ports, addresses and paths named in one of them agree with the others.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
import shlex
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"

EXPECTED_SERVICES = ("gateway", "postgres", "prometheus", "mailpit", "grafana")
GRAFANA_SERVICE = "grafana"
GATEWAY_SERVICE = "gateway"
MAILPIT_SERVICE = "mailpit"
PROMETHEUS_SERVICE = "prometheus"
POSTGRES_SERVICE = "postgres"

GATEWAY_ENTRYPOINT = ["dlp-gateway"]
GATEWAY_PORTS = frozenset({10025, 9465, 8025})
PROMETHEUS_DEFAULT_CONFIG = "/etc/prometheus/prometheus.yml"
PROMETHEUS_JOB = "dlp-gateway"
DEFAULT_SHUTDOWN_GRACE = 30.0
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})
LOOPBACK_HOST_IP = "127.0.0.1"
DOCKER_PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
LOOPBACK_RANGES = ("127.0.0.0/8", "::1/128")
DOCKERIGNORE_REQUIRED = (".venv", "var", ".git", "tests", "benchmarks", "__pycache__")

def _sections() -> dict[str, frozenset[str] | None]:
    """Every key gateway.yaml accepts, from the settings model itself: a section's
    keys, or None for a plain value."""
    from pydantic import BaseModel

    from gateway.config import Settings
    keys: dict[str, frozenset[str] | None] = {}
    for name, info in Settings.model_fields.items():
        kind = info.annotation
        is_section = isinstance(kind, type) and issubclass(kind, BaseModel)
        keys[name] = frozenset(kind.model_fields) if is_section else None  # type: ignore[union-attr]
    return keys


GATEWAY_YAML_KEYS = _sections()
SECTIONS = tuple(name for name, keys in GATEWAY_YAML_KEYS.items() if keys is not None)


@dataclass(frozen=True)
class Setting:
    """A gateway setting that both a `serve` flag and a gateway.yaml key can set."""

    flag: str
    path: tuple[str, ...]
    default: str | int | None


SETTINGS: dict[str, Setting] = {
    "listen": Setting("--listen", ("smtp", "listen"), "127.0.0.1:10025"),
    "relay": Setting("--relay", ("relay", "address"), "127.0.0.1:10026"),
    "metrics": Setting("--metrics", ("metrics", "listen"), "127.0.0.1:9465"),
    "review": Setting("--review", ("review", "listen"), "127.0.0.1:8025"),
    "data_dir": Setting("--data-dir", ("data_dir",), "./var"),
    "workers": Setting("--workers", ("workers",), None),
}
LISTENERS = ("listen", "metrics", "review")


@dataclass(frozen=True)
class PublishedPort:
    """One `ports:` entry of a compose service."""

    host_ip: str
    host_port: int | None
    container_port: int
    protocol: str


@dataclass(frozen=True)
class Mount:
    """One `volumes:` entry of a compose service."""

    kind: str
    source: str
    target: str
    read_only: bool


# --------------------------------------------------------------------- helpers


def load_yaml(path: Path) -> Any:
    """Parse a YAML file that must exist."""
    assert path.is_file(), f"{path.relative_to(REPO)} is missing"
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def split_hostport(value: str) -> tuple[str, int]:
    """Split HOST:PORT (IPv6 hosts in brackets) into host and port."""
    host, sep, port = str(value).rpartition(":")
    assert sep and port.isdigit(), f"{value!r} is not HOST:PORT"
    return host.strip("[]"), int(port)


def parse_serve_args(command: list[str] | str) -> tuple[str, dict[str, str]]:
    """Split a gateway command into its subcommand and its --flag values."""
    tokens = shlex.split(command) if isinstance(command, str) else [str(t) for t in command]
    assert tokens, "the command is empty"
    subcommand, rest = tokens[0], tokens[1:]
    flags: dict[str, str] = {}
    index = 0
    while index < len(rest):
        token = rest[index]
        assert token.startswith("--"), f"unexpected positional argument {token!r} in {tokens}"
        if "=" in token:
            name, value = token.split("=", 1)
            index += 1
        else:
            assert index + 1 < len(rest), f"flag {token} has no value in {tokens}"
            name, value = token, rest[index + 1]
            index += 2
        assert name not in flags, f"flag {name} is given twice in {tokens}"
        flags[name] = value
    return subcommand, flags


def parse_port(entry: str | int | dict[str, Any]) -> PublishedPort:
    """Parse a compose `ports:` entry in short or long syntax."""
    if isinstance(entry, dict):
        published = entry.get("published")
        return PublishedPort(
            host_ip=str(entry.get("host_ip", "")),
            host_port=int(published) if published is not None else None,
            container_port=int(entry["target"]),
            protocol=str(entry.get("protocol", "tcp")),
        )
    text, _, protocol = str(entry).partition("/")
    host_ip = ""
    if text.startswith("["):
        host_ip, _, text = text[1:].partition("]:")
    parts = text.split(":")
    assert all(p.isdigit() for p in parts[-2:]), f"cannot parse port entry {entry!r}"
    if len(parts) == 3:
        host_ip = parts[0]
    container_port = int(parts[-1])
    host_port = int(parts[-2]) if len(parts) >= 2 else None
    return PublishedPort(host_ip, host_port, container_port, protocol or "tcp")


def parse_mount(entry: str | dict[str, Any]) -> Mount:
    """Parse a compose service `volumes:` entry in short or long syntax."""
    if isinstance(entry, dict):
        return Mount(
            kind=str(entry["type"]),
            source=str(entry.get("source", "")),
            target=str(entry["target"]),
            read_only=bool(entry.get("read_only", False)),
        )
    parts = str(entry).split(":")
    assert 2 <= len(parts) <= 3, f"cannot parse volume entry {entry!r}"
    source, target = parts[0], parts[1]
    options = parts[2].split(",") if len(parts) == 3 else []
    kind = "bind" if source.startswith((".", "/", "~")) else "volume"
    return Mount(kind, source, target, "ro" in options)


def duration_seconds(value: str | int | float) -> float:
    """Convert a compose duration such as 45s or 1m30s to seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|us|m|s)", value)
    assert parts and "".join(n + u for n, u in parts) == value, f"bad duration {value!r}"
    return sum(float(number) * units[unit] for number, unit in parts)


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """Return the Dockerfile's (INSTRUCTION, arguments) pairs, continuations joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a line continuation"
    return instructions


def exec_form(instruction: str, args: str) -> list[str]:
    """Parse an instruction's JSON exec-form arguments."""
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        pytest.fail(f"{instruction} should use the JSON exec form, got: {args}")
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def lookup(mapping: dict[str, Any], path: tuple[str, ...]) -> Any:
    """Fetch a nested key from a mapping, None where any level is missing."""
    node: Any = mapping
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def effective(name: str, flags: dict[str, str], config: dict[str, Any]) -> str | None:
    """Value the gateway ends up with: the flag, else gateway.yaml, else the default."""
    setting = SETTINGS[name]
    for value in (flags.get(setting.flag), lookup(config, setting.path), setting.default):
        if value is not None:
            return str(value)
    return None


def image_tag(image: str) -> str:
    """Tag of an image reference ('' when it has none)."""
    reference = image.split("@", 1)[0]
    last = reference.rsplit("/", 1)[-1]
    return last.partition(":")[2]


def env_dict(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a dict, whichever compose syntax it uses."""
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.partition("=")[::2] for item in environment)
    return {str(k): str(v) for k, v in environment.items()}


def instruction_args(dockerfile: list[tuple[str, str]], keyword: str) -> list[str]:
    """Arguments of every occurrence of one Dockerfile instruction."""
    return [args for kw, args in dockerfile if kw == keyword]


def copy_sources() -> list[str]:
    """Source paths of the Dockerfile's COPY instructions ([] without a Dockerfile)."""
    if not DOCKERFILE.is_file():
        return []
    sources: list[str] = []
    for args in instruction_args(dockerfile_instructions(DOCKERFILE.read_text("utf-8")), "COPY"):
        parts = [part for part in args.split() if not part.startswith("--")]
        sources += parts[:-1]
    return sources


def dockerignore_patterns() -> list[str]:
    """The .dockerignore patterns, without comments and trailing slashes."""
    assert DOCKERIGNORE.is_file(), ".dockerignore is missing"
    return [
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]


# -------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The parsed docker-compose.yml."""
    data = load_yaml(COMPOSE_FILE)
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The compose services by name."""
    result = compose.get("services")
    assert isinstance(result, dict), "docker-compose.yml has no services mapping"
    return result


@pytest.fixture(scope="module")
def gateway(services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The gateway service."""
    assert GATEWAY_SERVICE in services, f"no {GATEWAY_SERVICE!r} service"
    return services[GATEWAY_SERVICE]


@pytest.fixture(scope="module")
def gateway_flags(gateway: dict[str, Any]) -> dict[str, str]:
    """The flags of the gateway's `serve` command in compose."""
    assert "command" in gateway, "the gateway service sets no command"
    subcommand, flags = parse_serve_args(gateway["command"])
    assert subcommand == "serve", f"the gateway command runs {subcommand!r}, not 'serve'"
    return flags


@pytest.fixture(scope="module")
def gateway_mounts(gateway: dict[str, Any]) -> list[Mount]:
    """The gateway's volume mounts."""
    return [parse_mount(entry) for entry in gateway.get("volumes", [])]


@pytest.fixture(scope="module")
def config_mount(gateway_flags: dict[str, str], gateway_mounts: list[Mount]) -> Mount:
    """The bind mount that provides the gateway's --config directory."""
    assert "--config" in gateway_flags, "the gateway command has no --config"
    target = gateway_flags["--config"]
    matches = [m for m in gateway_mounts if m.target.rstrip("/") == target.rstrip("/")]
    assert len(matches) == 1, f"exactly one mount should provide --config {target}, got {matches}"
    return matches[0]


@pytest.fixture(scope="module")
def gateway_config(config_mount: Mount) -> dict[str, Any]:
    """The gateway.yaml inside the mounted config directory."""
    data = load_yaml(REPO / config_mount.source / "gateway.yaml")
    assert isinstance(data, dict), "gateway.yaml is not a mapping"
    return data


@pytest.fixture(scope="module")
def prometheus_config_path(services: dict[str, dict[str, Any]]) -> Path:
    """The repo file mounted as Prometheus's configuration."""
    service = services[PROMETHEUS_SERVICE]
    config_file = PROMETHEUS_DEFAULT_CONFIG
    for arg in service.get("command") or []:
        if str(arg).startswith("--config.file="):
            config_file = str(arg).partition("=")[2]
    mounts = [parse_mount(e) for e in service.get("volumes", [])]
    sources = [m.source for m in mounts if m.kind == "bind" and m.target == config_file]
    assert sources, f"no bind mount provides Prometheus's config file {config_file}"
    return REPO / sources[0]


@pytest.fixture(scope="module")
def scrape_target(prometheus_config_path: Path) -> tuple[str, int]:
    """Host and port of the dlp-gateway scrape job's single target."""
    config = load_yaml(prometheus_config_path)
    jobs = [j for j in config.get("scrape_configs", []) if j.get("job_name") == PROMETHEUS_JOB]
    assert len(jobs) == 1, f"expected one scrape job named {PROMETHEUS_JOB!r}, got {len(jobs)}"
    targets = [t for sc in jobs[0].get("static_configs", []) for t in sc.get("targets", [])]
    assert len(targets) == 1, f"the {PROMETHEUS_JOB} job should have one target, got {targets}"
    return split_hostport(targets[0])


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions."""
    assert DOCKERFILE.is_file(), "Dockerfile is missing"
    return dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def image_cmd_flags(dockerfile: list[tuple[str, str]]) -> dict[str, str]:
    """Flags of the image's default `serve` CMD."""
    cmds = [args for keyword, args in dockerfile if keyword == "CMD"]
    assert cmds, "the Dockerfile has no CMD"
    subcommand, flags = parse_serve_args(exec_form("CMD", cmds[-1]))
    assert subcommand == "serve", f"the image CMD runs {subcommand!r}, not 'serve'"
    return flags


# ---------------------------------------------------------------- compose file


def test_expected_services_exist(services: dict[str, dict[str, Any]]) -> None:
    """The trial stack has exactly the gateway, postgres, prometheus, mailpit and grafana."""
    assert sorted(services) == sorted(EXPECTED_SERVICES)


@pytest.mark.parametrize("name", EXPECTED_SERVICES)
def test_service_image_is_pinned_or_built(name: str, services: dict[str, dict[str, Any]]) -> None:
    """A service either builds from this repo or pulls a version-pinned image."""
    service = services[name]
    if "build" in service:
        build = service["build"]
        if isinstance(build, str):
            build = {"context": build}
        context = str(build.get("context", "."))
        dockerfile = str(build.get("dockerfile", "Dockerfile"))
        assert (REPO / context).is_dir(), f"{name}: build context {context!r} is not a directory"
        assert (REPO / context / dockerfile).is_file(), f"{name}: {context}/{dockerfile} missing"
        assert "image" not in service, f"{name}: builds locally, so it should not name an image"
        return
    assert "image" in service, f"{name}: has neither image nor build"
    image = str(service["image"])
    tag = image_tag(image)
    if "@sha256:" in image:
        return
    assert tag, f"{name}: image {image!r} has no tag (that means :latest)"
    assert tag != "latest", f"{name}: image {image!r} uses :latest"
    assert re.match(r"v?\d+", tag), f"{name}: image tag {tag!r} does not start with a version"


def test_gateway_runs_serve_through_image_entrypoint(
    gateway: dict[str, Any], gateway_flags: dict[str, str], dockerfile: list[tuple[str, str]]
) -> None:
    """Compose's command is arguments to the image's dlp-gateway entrypoint."""
    assert "entrypoint" not in gateway, "compose should keep the image's entrypoint"
    entrypoints = instruction_args(dockerfile, "ENTRYPOINT")
    assert entrypoints, "the Dockerfile has no ENTRYPOINT"
    assert exec_form("ENTRYPOINT", entrypoints[-1]) == GATEWAY_ENTRYPOINT
    unknown = set(gateway_flags) - {s.flag for s in SETTINGS.values()} - {"--config"}
    assert not unknown, f"the gateway command uses flags `serve` does not have: {sorted(unknown)}"


def test_config_dir_is_mounted_read_only(config_mount: Mount) -> None:
    """--config points at a read-only bind mount of a directory in the repo."""
    assert config_mount.kind == "bind", f"--config should be a bind mount, got {config_mount}"
    source = REPO / config_mount.source
    assert source.is_dir(), f"config mount source {config_mount.source} is not a directory"
    assert (source / "gateway.yaml").is_file(), f"{config_mount.source}/gateway.yaml is missing"
    assert config_mount.read_only, f"{config_mount.source} should be mounted with :ro"


def test_gateway_yaml_top_level_keys_are_known(gateway_config: dict[str, Any]) -> None:
    """gateway.yaml uses only keys the gateway accepts (unknown keys are rejected)."""
    unknown = set(gateway_config) - set(GATEWAY_YAML_KEYS)
    assert not unknown, f"unknown top-level keys in gateway.yaml: {sorted(unknown)}"


@pytest.mark.parametrize("section", SECTIONS)
def test_gateway_yaml_section_keys_are_known(section: str, gateway_config: dict[str, Any]) -> None:
    """Each gateway.yaml section is a mapping of known keys."""
    value = gateway_config.get(section, {})
    assert isinstance(value, dict), f"gateway.yaml {section} should be a mapping, got {value!r}"
    known = GATEWAY_YAML_KEYS[section]
    assert known is not None
    unknown = set(value) - known
    assert not unknown, f"unknown keys in gateway.yaml {section}: {sorted(unknown)}"


def test_gateway_yaml_values_have_expected_types(gateway_config: dict[str, Any]) -> None:
    """Values YAML could silently mistype (off -> False, bare numbers) are strings."""
    starttls = lookup(gateway_config, ("relay", "starttls"))
    assert starttls is None or isinstance(starttls, str), (
        f"relay.starttls parsed as {starttls!r}; quote it (a bare off/on is a YAML boolean)"
    )
    for name in (*LISTENERS, "relay"):
        value = lookup(gateway_config, SETTINGS[name].path)
        if value is not None:
            assert isinstance(value, str), f"{'.'.join(SETTINGS[name].path)} should be a string"
            split_hostport(value)
    workers = gateway_config.get("workers")
    valid_workers = workers is None or (isinstance(workers, int) and workers > 0)
    assert valid_workers, f"workers should be unset or a positive integer, got {workers!r}"


def test_trusted_networks_cover_loopback_and_docker_ranges(gateway_config: dict[str, Any]) -> None:
    """Mail from the compose network and the host's published port is trusted."""
    raw = lookup(gateway_config, ("smtp", "trusted_networks"))
    assert isinstance(raw, list), "smtp.trusted_networks should be a list"
    networks = [ipaddress.ip_network(str(n), strict=True) for n in raw]
    for required in (*LOOPBACK_RANGES, *DOCKER_PRIVATE_RANGES):
        wanted = ipaddress.ip_network(required)
        covered = any(n.version == wanted.version and wanted.subnet_of(n) for n in networks)
        assert covered, f"smtp.trusted_networks does not cover {required}"


def test_command_flags_agree_with_gateway_yaml(
    gateway_flags: dict[str, str], gateway_config: dict[str, Any]
) -> None:
    """A setting given both as a compose flag and in gateway.yaml has one value."""
    mismatches = []
    for setting in SETTINGS.values():
        flag_value = gateway_flags.get(setting.flag)
        yaml_value = lookup(gateway_config, setting.path)
        if flag_value is not None and yaml_value is not None and flag_value != str(yaml_value):
            key = ".".join(setting.path)
            mismatches.append(f"{setting.flag} {flag_value} vs gateway.yaml {key}: {yaml_value}")
    assert not mismatches, "compose command and gateway.yaml disagree: " + "; ".join(mismatches)


def test_metrics_port_matches_prometheus_scrape_target(
    gateway_flags: dict[str, str],
    gateway_config: dict[str, Any],
    scrape_target: tuple[str, int],
) -> None:
    """Prometheus scrapes gateway:<port> where <port> is the gateway's metrics port."""
    metrics = effective("metrics", gateway_flags, gateway_config)
    assert metrics is not None
    _, port = split_hostport(metrics)
    host, target_port = scrape_target
    assert host == GATEWAY_SERVICE, f"scrape target host {host!r} is not the gateway service"
    assert target_port == port, f"Prometheus scrapes port {target_port}, gateway metrics on {port}"


def test_relay_targets_mailpit_smtp(
    services: dict[str, dict[str, Any]],
    gateway_flags: dict[str, str],
    gateway_config: dict[str, Any],
) -> None:
    """The gateway relays to Mailpit's SMTP listener on the compose network."""
    relay = effective("relay", gateway_flags, gateway_config)
    assert relay is not None
    host, port = split_hostport(relay)
    mailpit = services[MAILPIT_SERVICE]
    _, smtp_port = split_hostport(env_dict(mailpit).get("MP_SMTP_BIND_ADDR", "0.0.0.0:1025"))
    assert host == MAILPIT_SERVICE, f"relay host {host!r} is not the {MAILPIT_SERVICE} service"
    assert port == smtp_port, f"relay port {port} is not Mailpit's SMTP port {smtp_port}"
    exposed = {int(str(p).partition("/")[0]) for p in mailpit.get("expose", [])}
    assert smtp_port in exposed, f"mailpit should expose its SMTP port {smtp_port}"


def test_mailpit_ports(services: dict[str, dict[str, Any]]) -> None:
    """Mailpit's SMTP stays internal; its published port is the web UI."""
    mailpit = services[MAILPIT_SERVICE]
    env = env_dict(mailpit)
    _, smtp_port = split_hostport(env.get("MP_SMTP_BIND_ADDR", "0.0.0.0:1025"))
    _, ui_port = split_hostport(env.get("MP_UI_BIND_ADDR", "0.0.0.0:8025"))
    published = {parse_port(p).container_port for p in mailpit.get("ports", [])}
    assert smtp_port not in published, "Mailpit's SMTP port should not be published on the host"
    assert published == {ui_port}, f"Mailpit should publish only its UI port {ui_port}"


def test_gateway_published_ports_are_its_listeners(
    gateway: dict[str, Any], gateway_flags: dict[str, str], gateway_config: dict[str, Any]
) -> None:
    """Each published container port is a gateway listener bound to all interfaces."""
    listeners: dict[int, str] = {}
    for name in LISTENERS:
        address = effective(name, gateway_flags, gateway_config)
        assert address is not None
        host, port = split_hostport(address)
        listeners[port] = host
    published = {parse_port(p).container_port for p in gateway.get("ports", [])}
    assert published == set(listeners), (
        f"published container ports {sorted(published)} != gateway listeners {sorted(listeners)}"
    )
    for port, host in listeners.items():
        assert host in WILDCARD_HOSTS, (
            f"the gateway listens on {host}:{port} inside the container; a published port "
            "only reaches a listener on 0.0.0.0 or ::"
        )


def test_published_host_ports_are_loopback_and_unique(
    services: dict[str, dict[str, Any]],
) -> None:
    """Every published port binds the host's 127.0.0.1 and no host port is used twice."""
    seen: list[tuple[int | None, str]] = []
    for name, service in services.items():
        for entry in service.get("ports", []):
            port = parse_port(entry)
            assert port.host_ip == LOOPBACK_HOST_IP, (
                f"{name}: {entry!r} should bind host IP {LOOPBACK_HOST_IP}"
            )
            assert port.host_port is not None, f"{name}: {entry!r} should name its host port"
            seen.append((port.host_port, port.protocol))
    duplicates = [key for key, count in Counter(seen).items() if count > 1]
    assert not duplicates, f"host ports published more than once: {duplicates}"


def test_prometheus_config_file_exists(prometheus_config_path: Path) -> None:
    """The Prometheus configuration mounted by compose is a file in the repo."""
    assert prometheus_config_path.is_file(), f"{prometheus_config_path} is missing"


def test_data_dir_is_a_named_volume(
    compose: dict[str, Any],
    gateway_flags: dict[str, str],
    gateway_config: dict[str, Any],
    gateway_mounts: list[Mount],
) -> None:
    """The gateway's state directory is a declared named volume."""
    data_dir = effective("data_dir", gateway_flags, gateway_config)
    assert data_dir is not None and PurePosixPath(data_dir).is_absolute(), (
        f"data dir {data_dir!r} should be an absolute path in the container"
    )
    mounts = [m for m in gateway_mounts if m.target == data_dir]
    assert len(mounts) == 1 and mounts[0].kind == "volume", (
        f"{data_dir} should be one named volume, got {mounts}"
    )
    assert mounts[0].source in (compose.get("volumes") or {}), (
        f"volume {mounts[0].source!r} is not declared under top-level volumes"
    )


@pytest.mark.parametrize("name", EXPECTED_SERVICES)
def test_named_volumes_are_declared(
    name: str, compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    """Named volumes used by a service appear in the top-level volumes mapping."""
    declared = set(compose.get("volumes") or {})
    for mount in (parse_mount(e) for e in services[name].get("volumes", [])):
        if mount.kind == "volume":
            assert mount.source in declared, f"{name}: volume {mount.source!r} is not declared"
        else:
            assert (REPO / mount.source).exists(), f"{name}: bind source {mount.source} missing"


def test_gateway_waits_for_healthy_postgres_and_mailpit(
    gateway: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    """The gateway starts after postgres is healthy and mailpit has started."""
    depends_on = gateway.get("depends_on")
    assert isinstance(depends_on, dict), "gateway depends_on should use the long syntax"
    assert depends_on.get(POSTGRES_SERVICE, {}).get("condition") == "service_healthy"
    assert MAILPIT_SERVICE in depends_on, "gateway should depend on mailpit"
    test = services[POSTGRES_SERVICE].get("healthcheck", {}).get("test")
    assert test and "pg_isready" in " ".join(test if isinstance(test, list) else [test]), (
        "postgres needs a pg_isready healthcheck for service_healthy to mean anything"
    )


def test_stop_grace_period_exceeds_shutdown_grace(
    gateway: dict[str, Any], gateway_config: dict[str, Any]
) -> None:
    """Docker waits longer than the gateway's own shutdown grace before SIGKILL."""
    configured = gateway_config.get("shutdown_grace")
    grace = DEFAULT_SHUTDOWN_GRACE if configured is None else float(configured)
    assert "stop_grace_period" in gateway, (
        f"Docker's default 10s stop timeout is shorter than shutdown_grace {grace:g}s"
    )
    period = duration_seconds(gateway["stop_grace_period"])
    assert period > grace, f"stop_grace_period {period:g}s <= shutdown_grace {grace:g}s"


# ------------------------------------------------------------------ Dockerfile


def test_dockerfile_base_image_satisfies_requires_python(
    dockerfile: list[tuple[str, str]],
) -> None:
    """The final stage is a pinned python image that pyproject's requires-python allows."""
    froms = instruction_args(dockerfile, "FROM")
    assert froms, "the Dockerfile has no FROM"
    image = froms[-1].split()[0]
    match = re.fullmatch(r"python:(\d+\.\d+)(?:\.\d+)?-slim(?:-\w+)?", image)
    assert match, f"final stage should be a python:X.Y-slim image, got {image!r}"
    with (REPO / "pyproject.toml").open("rb") as handle:
        requires = tomllib.load(handle)["project"]["requires-python"]
    assert match.group(1) in SpecifierSet(requires), f"{image} does not satisfy {requires}"


def test_dockerfile_exposes_gateway_ports(
    dockerfile: list[tuple[str, str]], image_cmd_flags: dict[str, str]
) -> None:
    """EXPOSE lists the gateway's ports, and the CMD listens on them on all interfaces."""
    exposed = {
        int(port.partition("/")[0])
        for args in instruction_args(dockerfile, "EXPOSE")
        for port in args.split()
    }
    assert exposed == set(GATEWAY_PORTS), f"EXPOSE {sorted(exposed)} != {sorted(GATEWAY_PORTS)}"
    for name in LISTENERS:
        flag = SETTINGS[name].flag
        assert flag in image_cmd_flags, f"the image CMD should set {flag}"
        host, port = split_hostport(image_cmd_flags[flag])
        assert host in WILDCARD_HOSTS, f"image CMD {flag} binds {host}, unreachable from outside"
        assert port in exposed, f"image CMD {flag} port {port} is not EXPOSEd"


def test_dockerfile_cmd_uses_config_and_data_volume(
    dockerfile: list[tuple[str, str]], image_cmd_flags: dict[str, str]
) -> None:
    """The image reads /etc/dlp-gateway and keeps state in its declared VOLUME."""
    assert image_cmd_flags.get("--config") == "/etc/dlp-gateway"
    volumes: list[str] = []
    for args in instruction_args(dockerfile, "VOLUME"):
        volumes += exec_form("VOLUME", args) if args.startswith("[") else args.split()
    data_dir = image_cmd_flags.get("--data-dir")
    assert data_dir in volumes, f"image CMD --data-dir {data_dir} is not a VOLUME ({volumes})"


def test_dockerfile_healthcheck_fetches_readyz(
    dockerfile: list[tuple[str, str]],
    image_cmd_flags: dict[str, str],
    gateway: dict[str, Any],
    gateway_flags: dict[str, str],
    gateway_config: dict[str, Any],
) -> None:
    """HEALTHCHECK fetches /readyz with urllib on the port the gateway serves it on."""
    checks = instruction_args(dockerfile, "HEALTHCHECK")
    assert checks, "the Dockerfile has no HEALTHCHECK"
    check = checks[-1]
    assert check.upper() != "NONE", "HEALTHCHECK is disabled"
    assert "urllib" in check, "the healthcheck should use python's urllib (slim has no curl)"
    match = re.search(r"http://(127\.0\.0\.1|localhost):(\d+)/readyz", check)
    assert match, f"the healthcheck does not fetch a loopback /readyz URL: {check}"
    port = int(match.group(2))
    _, image_port = split_hostport(image_cmd_flags["--metrics"])
    assert port == image_port, f"healthcheck port {port} != image CMD metrics port {image_port}"
    if "healthcheck" not in gateway:
        compose_metrics = effective("metrics", gateway_flags, gateway_config)
        assert compose_metrics is not None
        _, compose_port = split_hostport(compose_metrics)
        assert port == compose_port, (
            f"compose inherits the image healthcheck (port {port}) "
            f"but the gateway serves metrics on {compose_port}"
        )


def test_dockerfile_runs_as_non_root_user(dockerfile: list[tuple[str, str]]) -> None:
    """The final USER is neither root nor uid 0."""
    users = instruction_args(dockerfile, "USER")
    assert users, "the Dockerfile sets no USER, so the gateway would run as root"
    user = users[-1].partition(":")[0]
    assert user not in {"root", "0"}, f"the final USER is {users[-1]!r}, which is root"


@pytest.mark.parametrize("entry", DOCKERIGNORE_REQUIRED)
def test_dockerignore_excludes(entry: str) -> None:
    """The build context leaves out local state, tests and caches."""
    patterns = {pattern.removeprefix("**/") for pattern in dockerignore_patterns()}
    assert entry in patterns, f".dockerignore should exclude {entry}"


@pytest.mark.parametrize("source", copy_sources())
def test_copy_source_exists(source: str) -> None:
    """Each COPY source is in the repo (a missing one fails `docker build`)."""
    assert (REPO / source).exists(), f"the Dockerfile copies {source}, which is not in the repo"


def test_copy_sources_are_not_dockerignored() -> None:
    """No COPY source is excluded from the build context."""
    sources = copy_sources()
    assert sources, "the Dockerfile copies nothing"
    ignored = [
        (source, pattern)
        for source in sources
        for pattern in dockerignore_patterns()
        if fnmatch.fnmatch(source.rstrip("/"), pattern)
    ]
    assert not ignored, f"COPY sources excluded by .dockerignore (source, pattern): {ignored}"


def test_the_compose_configuration_loads_and_uses_the_compose_postgres() -> None:
    """The whole file passes the gateway's own validation, and the quarantine lives in
    the compose network's PostgreSQL, so replicas and the review app share it."""
    from gateway import config
    settings = config.load(REPO / "config" / "docker")
    assert settings.quarantine.url is not None and "@postgres:5432/" in settings.quarantine.url


# ------------------------------------------------- the trial's fixes (issue 15)


def test_compose_healthcheck_fetches_readyz_on_the_metrics_port(
    gateway: dict[str, Any], gateway_flags: dict[str, str], gateway_config: dict[str, Any]
) -> None:
    """The gateway's compose health check asks /readyz on the port metrics listens on."""
    test = " ".join(gateway.get("healthcheck", {}).get("test", []))
    match = re.search(r"http://(127\.0\.0\.1|localhost):(\d+)/readyz", test)
    assert match, f"the compose healthcheck does not fetch a loopback /readyz URL: {test}"
    metrics = effective("metrics", gateway_flags, gateway_config)
    assert metrics is not None and int(match.group(2)) == split_hostport(metrics)[1]


def test_the_database_password_is_set_in_one_place(
    services: dict[str, dict[str, Any]], gateway_config: dict[str, Any]
) -> None:
    """PostgreSQL's password and the gateway's come from one variable; the URL has none."""
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    assert text.count("${POSTGRES_PASSWORD") == 1, "POSTGRES_PASSWORD should be read in one place"
    postgres = env_dict(services[POSTGRES_SERVICE])["POSTGRES_PASSWORD"]
    assert env_dict(services[GATEWAY_SERVICE]).get("PGPASSWORD") == postgres
    url = str(lookup(gateway_config, ("quarantine", "url")))
    userinfo = url.split("://", 1)[1].split("@", 1)[0]
    assert ":" not in userinfo, f"the quarantine URL carries a password: {url}"
    assert userinfo == env_dict(services[POSTGRES_SERVICE])["POSTGRES_USER"]


def test_the_shipped_policies_are_mounted_beside_gateway_yaml(
    gateway_flags: dict[str, str], gateway_mounts: list[Mount]
) -> None:
    """The configuration directory the gateway reads holds the shipped policies.yaml."""
    target = f"{gateway_flags['--config'].rstrip('/')}/policies.yaml"
    mounts = [m for m in gateway_mounts if m.target == target]
    assert len(mounts) == 1 and mounts[0].kind == "bind", f"nothing mounts {target}"
    assert (REPO / mounts[0].source).resolve() == (REPO / "config" / "policies.yaml").resolve()
    from gateway.policy import profiles
    assert (REPO / "config" / "policies.yaml").read_text() == profiles.SHIPPED.read_text()


def test_the_first_admin_command_in_the_header_parses() -> None:
    """The documented one-line `users add` is a command the gateway accepts."""
    from gateway import cli
    lines = [line for line in COMPOSE_FILE.read_text(encoding="utf-8").splitlines()
             if "docker compose exec gateway dlp-gateway users add" in line]
    assert lines, "the compose file should say how to create the first review admin"
    args = shlex.split(lines[0].lstrip("# ").split("dlp-gateway", 1)[1])
    parsed = cli._parser().parse_args(args)
    assert parsed.command == "users" and parsed.role == "admin"
    assert str(parsed.config) == "/etc/dlp-gateway"


def _bind_sources(service: dict[str, Any]) -> dict[str, str]:
    return {m.target: m.source for m in (parse_mount(e) for e in service.get("volumes", [])) if m.kind == "bind"}


def test_prometheus_loads_the_shipped_rules(services: dict[str, dict[str, Any]],
                                            prometheus_config_path: Path) -> None:
    """Each rule file Prometheus loads is the repo's, mounted where the config says."""
    config = load_yaml(prometheus_config_path)
    mounts = _bind_sources(services[PROMETHEUS_SERVICE])
    assert config.get("rule_files"), "Prometheus loads no rule files"
    for path in config["rule_files"]:
        assert path in mounts, f"rule file {path} is not mounted"
        assert (REPO / mounts[path]).resolve() == (REPO / "deploy/prometheus/dlp-gateway.rules.yml").resolve()


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard(
    services: dict[str, dict[str, Any]], scrape_target: tuple[str, int]
) -> None:
    """Grafana's data source is the compose Prometheus; its dashboard folder holds the shipped JSON."""
    grafana = services[GRAFANA_SERVICE]
    mounts = _bind_sources(grafana)
    provisioning = REPO / mounts["/etc/grafana/provisioning"]
    sources = load_yaml(provisioning / "datasources" / "prometheus.yml")["datasources"]
    assert [d["url"] for d in sources] == ["http://prometheus:9090"]
    assert (PROMETHEUS_SERVICE, 9090) == split_hostport(sources[0]["url"].split("//", 1)[1])
    providers = load_yaml(provisioning / "dashboards" / "dlp-gateway.yml")["providers"]
    folder = providers[0]["options"]["path"]
    assert folder in mounts, f"the dashboard folder {folder} is not mounted"
    assert (REPO / mounts[folder] / "dlp-gateway.json").is_file()
    published = {parse_port(p).container_port for p in grafana.get("ports", [])}
    assert published == {3000}
