"""Typed settings of the desk: the one config loader.

Layers, each overriding the one before:

1. defaults (the dataclasses below);
2. machine-wide, written by the installer: ``/etc/bts-desk/config.toml`` on Linux,
   ``%PROGRAMDATA%\\bts-desk\\config.toml`` on Windows, plus (Windows) the registry key
   ``HKLM\\SOFTWARE\\BorderTradeService\\bts-desk`` whose value names are ``section.key``
   (the MSI's public properties land there);
3. per-user: ``platformdirs.user_config_dir("bts-desk")/config.toml`` (the device panel saves
   the officer's or IT's choices there), or the file named by ``BTS_DESK_CONFIG``;
4. environment: ``BTS_DESK_<SECTION>_<KEY>``, e.g. ``BTS_DESK_SCANNER_PORT=COM3``.

Security-relevant settings (``MACHINE_ONLY``: where the desk sends biometrics, which CAs it
trusts, its revocation list, its key file) are taken from the machine-wide layer only: a
per-user file or an environment variable naming them is ignored with a warning, so a user (or
anything running as the user) cannot point the desk at a rogue service or CA. Tests that need
them pass ``trust_user_security=True`` or build ``Settings`` directly.

Pure Python, no Qt: safe on any thread, but load once at start-up and pass the result down.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bts_desk.errors import ConfigError

log = logging.getLogger(__name__)

APP_NAME = "bts-desk"
ENV_PREFIX = "BTS_DESK_"
REGISTRY_KEY = r"SOFTWARE\BorderTradeService\bts-desk"
MACHINE_ONLY = frozenset(
    {
        ("sync", "url"),
        ("sync", "ca_cert"),
        ("card", "ca_cert"),
        ("card", "crl"),
        ("security", "key_file"),
    }
)


def _host_name() -> str:
    """The machine's name, the default desk id (no ``socket`` import at start-up)."""
    if sys.platform == "win32":
        return os.environ.get("COMPUTERNAME", "desk")
    return os.uname().nodename or "desk"


def _platform_dir(kind: str) -> str:
    import platformdirs  # a few ms: only when a path is actually needed

    return str(getattr(platformdirs, kind)(APP_NAME, appauthor=False))


@dataclass(frozen=True)
class DeskSettings:
    id: str = field(default_factory=_host_name)
    customs_code: str = ""


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = ""  # empty: SQLite file in the data directory


@dataclass(frozen=True)
class SyncSettings:
    url: str = ""  # https://…; empty: offline desk, the outbox keeps everything
    ca_cert: str = ""  # PEM file of the CA(s) the service's TLS certificate must chain to
    interval_s: int = 300
    timeout_s: float = 10.0
    report_interval_s: int = 300  # desk status reports to IT's fleet console


@dataclass(frozen=True)
class ScannerSettings:
    driver: str = "r30x"
    port: str = "auto"  # "auto": discover by USB VID:PID
    baudrate: int = 57600  # tried first; then 115200 and the other 9600×N rates
    address: int = 0xFFFFFFFF
    password: int = 0
    model: str = "auto"  # r30x: as608 / r307 / r503 / generic, or ask the module
    switch_baudrate: int = 0  # r30x: e.g. 115200 to set the module faster (0: leave it)
    # 边民核验: Match score at or above which a live press passes (the module must match too);
    # the R30x family's scale, where another finger scores below 90 (benchmarks/verify_bench)
    match_threshold: int = 120


@dataclass(frozen=True)
class CameraSettings:
    driver: str = "opencv"
    source: str = "0"  # device index, or a video file / image sequence / URL
    width: int = 1280  # asked of a webcam: the token portrait needs >= 90 px between the eyes
    height: int = 720
    fourcc: str = "MJPG"  # asked of a webcam (USB 2 webcams give 720p at 30 fps only in MJPG)
    backend: str = "auto"  # webcam API: auto (Windows: dshow then msmf), dshow, msmf, v4l2, any
    loop: bool = False  # file / image-sequence sources start again at the end (demo)


@dataclass(frozen=True)
class CardSettings:
    profile: str = "piv"
    reader: str = ""  # substring of the reader name; empty: the first reader with a card
    ca_cert: str = ""  # PEM file of the CA that issues officer cards
    crl: str = ""  # CRL file (DER or PEM) of that CA, machine-wide; empty: only the service's
    require_client_auth: bool = True  # officer certificates must carry EKU clientAuth
    clock_skew_s: int = 300  # tolerated desk clock error when checking validity dates
    pkcs11_module: str = ""  # profile "pkcs11": the vendor's PKCS#11 module (.so / .dll)
    pkcs11_token: str = ""  # profile "pkcs11": token label or serial; empty: first officer token


@dataclass(frozen=True)
class SecuritySettings:
    key_file: str = ""  # empty: desk.key in the data directory


@dataclass(frozen=True)
class UiSettings:
    language: str = "zh_CN"
    # 补录: the fingers of 指纹1 / 指纹2 (ISO/IEC 19794 codes: 2 右手食指, 7 左手食指); the
    # dialog saves the officer's last choice here (per-user file).
    finger1_position: int = 2
    finger2_position: int = 7


@dataclass(frozen=True)
class LoggingSettings:
    level: str = "INFO"
    dir: str = ""  # empty: the platform's log directory


@dataclass(frozen=True)
class PathSettings:
    data_dir: str = ""  # empty: the platform's per-user data directory


@dataclass(frozen=True)
class Settings:
    desk: DeskSettings = field(default_factory=DeskSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    scanner: ScannerSettings = field(default_factory=ScannerSettings)
    camera: CameraSettings = field(default_factory=CameraSettings)
    card: CardSettings = field(default_factory=CardSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    ui: UiSettings = field(default_factory=UiSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    paths: PathSettings = field(default_factory=PathSettings)

    @property
    def data_dir(self) -> Path:
        return Path(self.paths.data_dir or _platform_dir("user_data_dir"))

    @property
    def log_dir(self) -> Path:
        return Path(self.logging.dir or _platform_dir("user_log_dir"))

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'desk.db'}"

    @property
    def key_file(self) -> Path:
        return (
            Path(self.security.key_file) if self.security.key_file else self.data_dir / "desk.key"
        )

    def replace(self, section: str, **values: Any) -> Settings:
        """A copy with some keys of one section changed (values already typed)."""
        current = getattr(self, section)
        return dataclasses.replace(self, **{section: dataclasses.replace(current, **values)})


_SECTION_TYPES: dict[str, type[Any]] = {
    f.name: type(getattr(Settings(), f.name)) for f in dataclasses.fields(Settings)
}


def machine_config_path() -> Path:
    if sys.platform == "win32":
        return Path(_platform_dir("site_config_dir")) / "config.toml"
    return Path("/etc") / APP_NAME / "config.toml"


def user_config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get(ENV_PREFIX + "CONFIG"):
        return Path(env[ENV_PREFIX + "CONFIG"])
    return Path(_platform_dir("user_config_dir")) / "config.toml"


def load_settings(
    machine_file: Path | None = None,
    user_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    registry: bool | None = None,
    *,
    trust_user_security: bool = False,
) -> Settings:
    """Merge the four layers into a Settings. Raises ConfigError on a bad file or value.
    ``trust_user_security`` (tests only) lets the per-user file and the environment set the
    ``MACHINE_ONLY`` settings too."""
    env = os.environ if env is None else env
    merged: dict[str, dict[str, Any]] = {}
    machine_file = machine_config_path() if machine_file is None else machine_file
    _merge(merged, _read_toml(machine_file), str(machine_file), machine=True)
    if registry if registry is not None else sys.platform == "win32":
        _merge(merged, _read_registry(), "registry HKLM\\" + REGISTRY_KEY, machine=True)
    user_file = user_config_path(env) if user_file is None else user_file
    trusted = trust_user_security
    _merge(merged, _read_toml(user_file), str(user_file), machine=trusted)
    _merge(merged, _read_env(env), "environment", machine=trusted)
    return _build(merged)


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    import tomllib  # only when there is a file to read

    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"配置文件无法读取：{path}", f"cannot read config {path}: {exc}") from exc


def _read_env(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, dict[str, str]] = {}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_PREFIX + "CONFIG":
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        section, _, key = rest.partition("_")
        if section in _SECTION_TYPES and key:
            out.setdefault(section, {})[key] = value
    return out


def _read_registry() -> dict[str, Any]:  # pragma: no cover - Windows only
    out: dict[str, dict[str, Any]] = {}
    if sys.platform == "win32":
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, REGISTRY_KEY) as key:
                index = 0
                while True:
                    try:
                        name, value, _kind = winreg.EnumValue(key, index)
                    except OSError:
                        break
                    index += 1
                    section, _, item = str(name).partition(".")
                    if item and value not in ("", None):
                        out.setdefault(section, {})[item] = value
        except OSError:
            log.info("no machine settings in the registry (HKLM\\%s)", REGISTRY_KEY)
    return out


def _merge(
    into: dict[str, dict[str, Any]], layer: Mapping[str, Any], source: str, *, machine: bool
) -> None:
    for section, values in layer.items():
        if section not in _SECTION_TYPES:
            log.warning("config %s: unknown section [%s] ignored", source, section)
            continue
        if not isinstance(values, Mapping):
            raise ConfigError(
                f"配置项 [{section}] 格式错误：{source}", f"{source}: [{section}] is not a table"
            )
        known = {f.name: f for f in dataclasses.fields(_SECTION_TYPES[section])}
        for key, value in values.items():
            if key not in known:
                log.warning("config %s: unknown key %s.%s ignored", source, section, key)
                continue
            if not machine and (section, key) in MACHINE_ONLY:
                log.warning(
                    "config %s: %s.%s is a machine-wide setting (installer, /etc, HKLM); ignored",
                    source,
                    section,
                    key,
                )
                continue
            into.setdefault(section, {})[key] = _coerce(
                known[key], value, f"{source}: {section}.{key}"
            )


def _coerce(fld: dataclasses.Field[Any], value: Any, where: str) -> Any:
    kind = fld.type if isinstance(fld.type, str) else getattr(fld.type, "__name__", "str")
    try:
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError("boolean is not a number")
            return int(value, 0) if isinstance(value, str) else int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"配置值无效：{where}", f"{where}: {value!r} is not a valid {kind}"
        ) from exc


def _build(merged: Mapping[str, Mapping[str, Any]]) -> Settings:
    sections = {name: _SECTION_TYPES[name](**merged.get(name, {})) for name in _SECTION_TYPES}
    return Settings(**sections)


def save_user_values(section: str, values: Mapping[str, Any], path: Path | None = None) -> Path:
    """Persist some keys of one section in the per-user file (device panel choices)."""
    import tomli_w

    if section not in _SECTION_TYPES:
        raise ConfigError(f"未知配置节：{section}", f"unknown config section {section!r}")
    path = user_config_path() if path is None else path
    current = _read_toml(path)
    current.setdefault(section, {}).update(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(tomli_w.dumps(current).encode("utf-8"))
    os.replace(tmp, path)
    return path
