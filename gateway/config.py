"""Settings: built-in defaults, overridden by DIR/gateway.yaml, overridden by flags.

The YAML file is validated with pydantic at start (and on SIGHUP). A bad file
fails with the file, the line, the key and why: ``ConfigError`` carries that
text and never the offending value when it could be sensitive.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from detectors.defaults import DEFAULT_FORMATS, AccountFormat, Limits

CONFIG_FILE = "gateway.yaml"


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""


@dataclass(frozen=True, slots=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_host_port(text: object) -> HostPort:
    """Parse ``HOST:PORT`` or ``[IPv6]:PORT`` into a HostPort.

    >>> parse_host_port("127.0.0.1:10025")
    HostPort(host='127.0.0.1', port=10025)
    >>> parse_host_port("[::1]:25")
    HostPort(host='::1', port=25)
    """
    if isinstance(text, HostPort):
        return text
    if not isinstance(text, str):
        raise ValueError("expected HOST:PORT as a string")
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    number = int(port)
    if not 0 <= number <= 65535:
        raise ValueError(f"port {number} is out of range 0-65535")
    return HostPort(host, number)


Address = Annotated[HostPort, BeforeValidator(parse_host_port)]
Seconds = Annotated[float, Field(gt=0, le=86400)]


def _check_network(text: str) -> str:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise ValueError(f"not an IP network: {exc}") from None
    return text


Network = Annotated[str, AfterValidator(_check_network)]


def _yaml_off(value: object) -> object:
    """YAML 1.1 reads a bare ``off`` as false: take it as the word meant."""
    return "off" if value is False else value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SmtpSettings(_Section):
    listen: Address = HostPort("127.0.0.1", 10025)
    hostname: str | None = None
    trusted_networks: tuple[Network, ...] = ("127.0.0.0/8", "::1/128")
    max_message_size: int = Field(36_700_160, ge=1024)
    max_recipients: int = Field(1000, ge=1)
    max_sessions: int = Field(200, ge=1)
    max_sessions_per_client: int = Field(50, ge=1)   # gateway.slots
    command_timeout: Seconds = 300
    pre_mail_timeout: Seconds = 30
    data_timeout: Seconds = 600
    min_data_rate: float = Field(1024, ge=0)   # bytes/s, averaged over DATA after the grace
    data_rate_grace: Seconds = 30
    max_line_length: int = Field(65_536, ge=1001)
    backlog: int = Field(1024, ge=1, le=65_535)   # capped by the kernel's net.core.somaxconn
    inflight_bytes: int = Field(64 * 1024 * 1024, ge=65_536)   # per worker (gateway.budget)

    def networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(n, strict=False) for n in self.trusted_networks)


class RelaySettings(_Section):
    address: Address = HostPort("127.0.0.1", 10026)
    pool_size: int = Field(32, ge=1, le=1000)
    connect_timeout: Seconds = 10
    timeout: Seconds = 120
    starttls: Annotated[Literal["off", "opportunistic", "required"],
                        BeforeValidator(_yaml_off)] = "opportunistic"
    tls_verify: bool = True
    ca_file: Path | None = None
    helo_name: str | None = None
    max_idle: Seconds = 60

    @field_validator("ca_file")
    @classmethod
    def _ca_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"CA file {str(value)!r} does not exist")
        return value


class ListenSettings(_Section):
    listen: Address


class ReviewSettings(_Section):
    """The quarantine review web app (gateway.review)."""

    listen: Address = HostPort("127.0.0.1", 8025)
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    session_idle_minutes: int = Field(30, ge=1, le=24 * 60)
    session_max_hours: int = Field(12, ge=1, le=7 * 24)
    secret_file: Path | None = None
    login_attempts: int = Field(5, ge=1)
    login_window_minutes: int = Field(15, ge=1)
    purge_interval_minutes: int = Field(60, ge=1)

    @model_validator(mode="after")
    def _tls_pair(self) -> ReviewSettings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("give both tls_cert_file and tls_key_file, or neither")
        for path in (self.tls_cert_file, self.tls_key_file):
            if path is not None and not path.is_file():
                raise ValueError(f"TLS file {str(path)!r} does not exist")
        return self


class AccountFormatSettings(_Section):
    """One utility's account number format (see detectors.utility_account)."""

    name: str = Field(min_length=1)
    utility: str = ""
    layout: Annotated[str, Field(pattern=r"^d+(?:-d+)+$|^d+(?:\.d+)+$|^d+(?: d+)+$")] | None = None
    digits: tuple[int, int] | None = None
    context: tuple[str, ...] = Field(min_length=1)
    window: int = Field(60, ge=1, le=500)
    check: Literal["luhn"] | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> AccountFormatSettings:
        if (self.layout is None) == (self.digits is None):
            raise ValueError("give exactly one of layout (e.g. d-dd-ddd-dddd) or digits [min, max]")
        if self.digits is not None and not 6 <= self.digits[0] <= self.digits[1] <= 19:
            raise ValueError("digits must be [min, max] with 6 <= min <= max <= 19")
        return self


    def account_format(self) -> AccountFormat:
        return AccountFormat(self.name, self.utility, self.context, self.window, self.layout, self.digits,
                             self.check)


# The defaults are the detectors' own (detectors.defaults), defined there once.
_DEFAULT_FORMATS = tuple(
    AccountFormatSettings(name=f.name, utility=f.utility, layout=f.layout, digits=f.digits, context=f.context,
                          window=f.window, check=f.check)
    for f in DEFAULT_FORMATS)
_LIMITS = Limits()


class LicenseFormatSettings(_Section):
    """One state's driver's licence layout (see detectors.driver_license)."""

    state: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    layout: Annotated[str, Field(pattern=r"^[Ld]+(?:[- ][Ld]+)*$", min_length=6, max_length=30)]


# The contract's entity names: a custom type may not take one.
BUILT_IN_ENTITIES = frozenset({"US_SSN", "US_ITIN", "US_EIN", "CREDIT_CARD", "UTILITY_ACCOUNT", "PHONE_NUMBER",
                               "US_BANK_ROUTING", "US_DRIVER_LICENSE", "US_BANK_ACCOUNT", "NOT"})
REGEX_FLAGS_NOTE = "compiled as Presidio does: case-insensitive, multi-line, dot matches newline"


def _check_regex(value: str) -> str:
    """A pattern Presidio's regex engine compiles (the ``regex`` module, Presidio's flags)."""
    import regex  # noqa: PLC0415 - only to check a custom type's pattern, as Presidio compiles it
    try:
        regex.compile(value, regex.DOTALL | regex.MULTILINE | regex.IGNORECASE)
    except (regex.error, TypeError, ValueError) as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


def _check_entity(value: str) -> str:
    if value in BUILT_IN_ENTITIES:
        raise ValueError(f"{value} is a built-in entity; give the custom type a name of its own")
    return value


Regex = Annotated[str, Field(min_length=1), AfterValidator(_check_regex)]
EntityName = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{1,63}$"), AfterValidator(_check_entity)]


class PatternSettings(_Section):
    """One pattern of a custom type: Presidio's ``Pattern`` (name, regex, score)."""

    name: str = Field("pattern", min_length=1)
    regex: Regex
    score: float = Field(ge=0, le=1)


class RecognizerSettings(_Section):
    """One recognizer in presidio-analyzer's recognizer YAML (``recognizers:`` list)."""

    name: str | None = None
    supported_entity: EntityName
    supported_language: Literal["en"] = "en"
    type: Literal["custom"] | None = None
    enabled: bool = True
    patterns: tuple[PatternSettings, ...] = ()
    context: tuple[str, ...] = ()
    deny_list: tuple[Annotated[str, Field(min_length=1)], ...] = ()
    deny_list_score: float = Field(1.0, ge=0, le=1)

    @model_validator(mode="after")
    def _something(self) -> RecognizerSettings:
        if not self.patterns and not self.deny_list:
            raise ValueError("give patterns or a deny_list")
        return self


class PresidioFileSettings(_Section):
    recognizers: tuple[RecognizerSettings, ...]

    @model_validator(mode="after")
    def _not_empty(self) -> PresidioFileSettings:
        if not self.recognizers:
            raise ValueError("the file lists no recognizers")
        return self


@dataclass(frozen=True, slots=True)
class PresidioFile:
    """A Presidio recognizer YAML file, read and validated."""

    path: Path
    recognizers: tuple[RecognizerSettings, ...]


def _read_presidio_file(value: object, info: ValidationInfo) -> PresidioFile:
    """The recognizers of a Presidio YAML file (relative to the configuration directory)."""
    if isinstance(value, PresidioFile):
        return value
    if not isinstance(value, str) or not value:
        raise ValueError("give the path of a Presidio recognizer YAML file")
    base = (info.context or {}).get("base") or Path(".")
    path = Path(value) if Path(value).is_absolute() else Path(base) / value
    try:
        raw, document = read_yaml(path)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    try:
        parsed = PresidioFileSettings.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(describe(exc, path, document)) from None
    return PresidioFile(path, parsed.recognizers)


class CustomTypeSettings(_Section):
    """An administrator's own entity: a regex (with an optional check) or a Presidio YAML file."""

    entity: EntityName | None = None
    enabled: bool = True
    regex: Regex | None = None
    score: float = Field(0.5, ge=0, le=1)
    patterns: tuple[PatternSettings, ...] = ()
    context: tuple[str, ...] = ()
    deny_list: tuple[Annotated[str, Field(min_length=1)], ...] = ()
    check: Literal["luhn", "mod"] | None = None
    modulus: int = Field(10, ge=2, le=10_000)
    weights: tuple[Annotated[int, Field(ge=0, le=1000)], ...] = ()
    presidio_yaml: Annotated[PresidioFile, BeforeValidator(_read_presidio_file)] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> CustomTypeSettings:
        inline = self.entity is not None or self.regex is not None or self.patterns or self.deny_list
        if self.presidio_yaml is not None:
            if inline or self.check is not None:
                raise ValueError("give presidio_yaml alone, or entity with regex/patterns, not both")
            return self
        if self.entity is None:
            raise ValueError("give entity (its name, e.g. EMPLOYEE_ID) and a regex, or presidio_yaml")
        if self.regex is None and not self.patterns and not self.deny_list:
            raise ValueError("give a regex, patterns or a deny_list")
        return self


# The shipped example (off): an employee ID, "E" and six digits, counted only beside its words.
EMPLOYEE_ID_EXAMPLE = CustomTypeSettings(
    entity="EMPLOYEE_ID", enabled=False, regex=r"\bE-?\d{6}\b", score=0.4,
    context=("employee", "employee id", "employee number", "emp id", "emp no", "staff id", "badge", "empleado"))


class DetectionSettings(_Section):
    enabled: bool = True
    utility_accounts: tuple[AccountFormatSettings, ...] = _DEFAULT_FORMATS
    driver_licenses: tuple[LicenseFormatSettings, ...] = (LicenseFormatSettings(state="CA", layout="Lddddddd"),)
    custom_types: tuple[CustomTypeSettings, ...] = (EMPLOYEE_ID_EXAMPLE,)
    thread_above: int = Field(65_536, ge=0)
    # Judged on the event loop: messages up to this size that hold nothing the
    # scan inflates (gateway.offload); 0 = every scan in a CPU thread.
    inline_below: int = Field(16_384, ge=0, le=1_048_576)
    scan_threads: int = Field(4, ge=1, le=64)   # the CPU threads of one worker
    # Judged in the worker's scan process(es): messages this large or larger; 0 = never.
    process_above: int = Field(1_048_576, ge=0)
    scan_processes: int = Field(1, ge=1, le=16)
    max_depth: int = Field(_LIMITS.max_depth, ge=0, le=10)
    max_members: int = Field(_LIMITS.max_members, ge=1)
    max_inflated_bytes: int = Field(_LIMITS.max_inflated_bytes, ge=1024)
    max_ratio: int = Field(_LIMITS.max_ratio, ge=2)
    max_findings: int = Field(10_000, ge=1)   # per message (detectors.scan.Budgets)
    max_segment_findings: int = Field(5_000, ge=1)
    scan_cpu_seconds: float = Field(1.5, gt=0, le=3600)

    def account_formats(self) -> tuple[AccountFormat, ...]:
        """The utility account formats as the detectors take them."""
        return tuple(f.account_format() for f in self.utility_accounts)

    def limits(self) -> Limits:
        """The extraction limits as the detectors take them."""
        return Limits(max_depth=self.max_depth, max_members=self.max_members,
                      max_inflated_bytes=self.max_inflated_bytes, max_ratio=self.max_ratio)


class QuarantineSettings(_Section):
    url: Annotated[str, Field(pattern=r"^(sqlite:///.+|postgres(ql)?://.+)$")] | None = None
    key_file: Path | None = None
    old_key_files: tuple[Path, ...] = ()
    recount_seconds: float = Field(1.0, gt=0, le=3600)
    # Every store call has this deadline; past it the client gets 451 4.3.0.
    timeout: float = Field(10.0, gt=0, le=600)
    # A retry of the same message (Message-ID, envelope, content) within this
    # window finds the copy already held instead of holding a second one.
    retry_window: float = Field(5 * 86400, gt=0, le=30 * 86400)


class NotifySettings(_Section):
    security: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    sender: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")] = "dlp-gateway@localhost"


class SiemSettings(_Section):
    """Audit events to a SIEM over syslog (gateway.siem); off without an address."""

    address: Address | None = None
    transport: Literal["udp", "tcp", "tls"] = "udp"
    format: Literal["rfc5424", "cef"] = "rfc5424"
    ca_file: Path | None = None
    tls_verify: bool = True
    buffer: int = Field(10_000, ge=1, le=1_000_000)
    facility: int = Field(13, ge=0, le=23)   # 13: log audit (RFC 5424 §6.2.1)
    app_name: Annotated[str, Field(pattern=r"^[!-~]{1,48}$")] = "dlp-gateway"


class Settings(_Section):
    smtp: SmtpSettings = SmtpSettings()
    relay: RelaySettings = RelaySettings()
    metrics: ListenSettings = ListenSettings(listen=HostPort("127.0.0.1", 9465))
    review: ReviewSettings = ReviewSettings()
    detection: DetectionSettings = DetectionSettings()
    quarantine: QuarantineSettings = QuarantineSettings()
    notify: NotifySettings = NotifySettings()
    siem: SiemSettings = SiemSettings()
    data_dir: Path = Path("./var")
    workers: int | None = Field(None, ge=1, le=256)
    shutdown_grace: Seconds = 30
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1

    def key_file(self) -> Path:
        """The quarantine encryption key (created 0600 on first start)."""
        return self.quarantine.key_file or self.data_dir / "quarantine.key"

    def review_secret_file(self) -> Path:
        """The review app's cookie-signing secret (created 0600 on first start)."""
        return self.review.secret_file or self.data_dir / "review.secret"


@dataclass(frozen=True, slots=True)
class Overrides:
    """Command-line flags; None means not given."""

    listen: str | None = None
    relay: str | None = None
    metrics: str | None = None
    review: str | None = None
    data_dir: str | None = None
    workers: int | None = None


def load(config_dir: Path | None, overrides: Overrides = Overrides()) -> Settings:
    """Return the validated settings from ``config_dir`` (if any) and flags."""
    path = config_dir / CONFIG_FILE if config_dir is not None else None
    raw: dict[str, Any] = {}
    document: yaml.Node | None = None
    if path is not None:
        raw, document = read_yaml(path)
    _apply_overrides(raw, overrides)
    try:   # files the configuration names (detection.custom_types presidio_yaml) are relative to it
        return Settings.model_validate(raw, context={"base": config_dir})
    except ValidationError as exc:
        raise ConfigError(describe(exc, path, document, overrides)) from None


def read_yaml(path: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    """The file's mapping and its node tree (for line numbers), or ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        document = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: invalid YAML: {exc.problem}") from None
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the file must be a mapping of settings")
    return data, document


def _apply_overrides(raw: dict[str, Any], flags: Overrides) -> None:
    pairs = (("smtp", "listen", flags.listen), ("relay", "address", flags.relay),
             ("metrics", "listen", flags.metrics), ("review", "listen", flags.review))
    for section, key, value in pairs:
        if value is not None:
            current = raw.get(section)
            merged = dict(current) if isinstance(current, dict) else {}
            merged[key] = value
            raw[section] = merged
    if flags.data_dir is not None:
        raw["data_dir"] = flags.data_dir
    if flags.workers is not None:
        raw["workers"] = flags.workers


_FLAG_KEYS = {"smtp.listen": "--listen", "relay.address": "--relay", "metrics.listen": "--metrics",
              "review.listen": "--review", "data_dir": "--data-dir", "workers": "--workers"}


def describe(exc: ValidationError, path: Path | None, document: yaml.Node | None,
             flags: Overrides = Overrides()) -> str:
    """Every validation error as ``file:line: key: why``."""
    given = {key for key, flag in _FLAG_KEYS.items()
             if getattr(flags, flag[2:].replace("-", "_")) is not None}
    lines = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        key = ".".join(loc) or "(top level)"
        line = _line_of(document, loc)
        if key in given:
            where = f"flag {_FLAG_KEYS[key]}"
        elif path is not None:
            where = f"{path}:{line}" if line else str(path)
        else:
            where = "built-in defaults"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown setting"
        lines.append(f"{where}: {key}: {message}")
    return "\n".join(lines)


def _line_of(node: yaml.Node | None, loc: list[str]) -> int | None:
    """Return the 1-based line of the setting at ``loc``, or of its nearest parent."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    line, child = key.start_mark.line + 1, value
                    break
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            child = node.value[int(part)]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line
