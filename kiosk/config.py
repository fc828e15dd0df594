"""Kiosk settings: pydantic models loaded from TOML.

Layers (later wins): built-in defaults < config/kiosk.toml. The fleet bundle and staff overrides
come on top in later work. A bad file never gives a traceback: `ConfigError` names the file, the key
and what is wrong, and the command exits non-zero.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "kiosk.toml"


class ConfigError(Exception):
    """A configuration problem a person can fix; the message says where and what."""


class _Section(BaseModel):
    # A misspelt key is an error, not silently ignored: on a pillar nobody reads warnings.
    model_config = ConfigDict(extra="forbid")


class KioskSection(_Section):
    id: str = Field(default="demo-kiosk-01", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    store_id: str = Field(default="utrecht-centrum", min_length=1, max_length=64)
    store_name: str = "ANWB Utrecht Centrum"
    language: Literal["nl", "en"] = "nl"


class ApiSection(_Section):
    base_url: str = "http://127.0.0.1:8700"
    token: SecretStr = SecretStr("demo-kiosk-token")
    connect_timeout_s: float = Field(default=3.0, gt=0, le=60)
    read_timeout_s: float = Field(default=10.0, gt=0, le=120)
    retries: int = Field(default=2, ge=0, le=10)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class PaymentSection(_Section):
    terminal: Literal["auto", "pcsc", "simulated"] = "auto"
    reader: str | None = Field(default=None, description="Part of the PC/SC reader name; first reader when empty")
    card_timeout_s: float = Field(default=60.0, ge=5, le=300)
    no_cvm_limit_cents: int = Field(default=5000, ge=0, le=1_000_000,
                                    description="Contactless without PIN up to this amount; above it the card is refused")
    public_key: Path = Path("payment_service_public.pem")
    simulated_profile: str = "visa"
    simulated_delay_s: float = Field(default=1.5, ge=0, le=60)


class StaffSection(_Section):
    # Staff badges tapped on the card reader are told apart from payment cards (never paid with).
    badge_atr_patterns: list[str] = Field(default_factory=list, description="hex ATRs, XX = any byte")
    badge_uids: list[str] = Field(default_factory=list, description="hex card UIDs")

    @field_validator("badge_atr_patterns", "badge_uids")
    @classmethod
    def _hex_bytes(cls, values: list[str]) -> list[str]:
        for value in values:
            text = value.replace(" ", "").replace(":", "").upper()
            if not text or len(text) % 2 or any(c not in "0123456789ABCDEFX" for c in text):
                raise ValueError(f"{value!r} is not hex bytes")
        return values


class CatalogSection(_Section):
    directory: Path = Field(default=Path("../var/catalog"), description="The local catalog copy (SQLite)")
    sync_interval_s: float = Field(default=900.0, ge=30, le=86_400, description="Delta sync every so often")
    image_cache: Path = Field(default=Path("../var/images"), description="Product pictures, cached on disk")
    image_cache_mb: int = Field(default=200, ge=10, le=10_000, description="Cap on the picture cache")


class StockSection(_Section):
    ttl_s: float = Field(default=30.0, ge=0, le=3600, description="Stock figures are asked again after this")
    few_left_max: int = Field(default=3, ge=1, le=100, description="At or under this many: 'a few left'")
    nearby_shops: int = Field(default=3, ge=0, le=20, description="Nearest other shops shown on an article")


class JournalSection(_Section):
    path: Path = Field(default=Path("../var/journal/journal.json"), description="The order journal (TinyDB)")
    retention_days: float = Field(default=30, ge=0, le=3650, description="Finished orders kept this long")
    outbox_concurrency: int = Field(default=4, ge=1, le=32)


class DisplaySection(_Section):
    fullscreen: bool = True
    width: int = Field(default=1080, ge=320, le=7680)
    height: int = Field(default=1920, ge=320, le=7680)
    lockdown: bool = Field(default=True, description="Esc and window close do not quit; no cursor")
    touch: Literal["window", "mtdev", "hidinput"] = Field(
        default="window", description="Which one input provider reads the touchscreen (see docs/deploy.md)")
    promotion_s: float = Field(default=6.0, ge=2, le=120, description="Each attract-screen promotion shows this long")


class SessionSection(_Section):
    # When a shopper walks away: "Still there?" after idle_s, the full reset countdown_s later.
    idle_s: float = Field(default=90.0, gt=0, le=3600, description="No touch this long: ask 'Still there?'")
    countdown_s: float = Field(default=10.0, ge=0, le=120, description="The question's countdown to the reset")
    receipt_s: float = Field(default=60.0, gt=0, le=3600, description="The receipt QR stays this long, then resets")


class Settings(_Section):
    kiosk: KioskSection = KioskSection()
    api: ApiSection = ApiSection()
    payment: PaymentSection = PaymentSection()
    catalog: CatalogSection = CatalogSection()
    stock: StockSection = StockSection()
    journal: JournalSection = JournalSection()
    staff: StaffSection = StaffSection()
    display: DisplaySection = DisplaySection()
    session: SessionSection = SessionSection()
    source: Path | None = Field(default=None, exclude=True)

    def resolve(self, path: Path) -> Path:
        """Paths in the file are relative to the file's own folder (without one: to the current one)."""
        if path.is_absolute():
            return path
        base = self.source.parent if self.source is not None else Path.cwd()
        return (base / path).resolve()

    @property
    def payment_public_key_path(self) -> Path:
        return self.resolve(self.payment.public_key)

    @property
    def catalog_dir(self) -> Path:
        return self.resolve(self.catalog.directory)

    @property
    def journal_path(self) -> Path:
        return self.resolve(self.journal.path)

    @property
    def image_cache_dir(self) -> Path:
        return self.resolve(self.catalog.image_cache)


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"key {key}: unknown key (misspelt?)"
    value = error.get("input")
    shown = "" if isinstance(value, dict) else f" (got {value!r})"
    return f"key {key}: {error['msg']}{shown}"


def parse_settings(data: dict[str, Any], source: Path | None = None) -> Settings:
    where = str(source) if source else "configuration"
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(err) for err in exc.errors())
        raise ConfigError(f"{where}: {problems}") from None
    return settings.model_copy(update={"source": source})


def load_settings(path: Path) -> Settings:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    settings = parse_settings(data, source=path.resolve())
    key_path = settings.payment_public_key_path
    if not key_path.is_file():
        raise ConfigError(f"{path}: key payment.public_key: file not found: {key_path}")
    return settings
