"""Kiosk settings: pydantic models loaded from TOML.

Layers (later wins): built-in defaults < config/kiosk.toml < fleet bundles (kiosk/fleet/) < staff
overrides (`kiosk.staff.overrides.SettingsEditor.effective`, validated by these same models; a key
the fleet locks is not overridden). A bad file never gives a traceback: `ConfigError` names the
file, the key and what is wrong, and the command exits non-zero.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from kiosk.staff.pins import parse_pin_hash

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
    receipt_text: str = Field(default="", max_length=200,
                              description="A short text of the shop's own on the receipt screen (empty: none)")


def http_url(value: str) -> str:
    """An http(s) URL with a host, without a trailing slash (so paths are joined with one)."""
    value = value.rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    try:
        host = urlsplit(value).hostname
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise ValueError(f"not a URL: {exc}") from None
    if not host:
        raise ValueError("names no host")
    return value


class ApiSection(_Section):
    base_url: str = "http://127.0.0.1:8700"
    token: SecretStr = SecretStr("demo-kiosk-token")
    connect_timeout_s: float = Field(default=3.0, gt=0, le=60)
    read_timeout_s: float = Field(default=10.0, gt=0, le=120)
    retries: int = Field(default=2, ge=0, le=10)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)


class PaymentSection(_Section):
    terminal: Literal["auto", "pcsc", "simulated"] = "auto"
    reader: str | None = Field(default=None, description="Part of the PC/SC reader name; first reader when empty")
    card_timeout_s: float = Field(default=60.0, ge=5, le=300)
    no_cvm_limit_cents: int = Field(default=5000, ge=0, le=1_000_000,
                                    description="Contactless without PIN up to this amount; above it the card is refused")
    public_key: Path = Path("payment_service_public.pem")
    simulated_profile: str = "visa"
    simulated_delay_s: float = Field(default=1.5, ge=0, le=60)


def _normal_hex(value: str) -> str:
    return value.replace(" ", "").replace(":", "").upper()


def _check_hex_bytes(values: list[str]) -> list[str]:
    for value in values:
        text = _normal_hex(value)
        if not text or len(text) % 2 or any(c not in "0123456789ABCDEFX" for c in text):
            raise ValueError(f"{value!r} is not hex bytes")
    return values


class StaffMemberConfig(_Section):
    """One `[[staff.members]]`: who may log in on this pillar, by PIN, by badge, or both."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    name: str = Field(min_length=1, max_length=100)
    role: Literal["staff", "manager"] = "staff"
    # Only ever the salted hash (`kiosk staff hash-pin`); checked here, so a bad one stops the kiosk
    # at start-up with the key named, not at the moment someone logs in.
    pin_hash: str | None = Field(default=None, repr=False)
    badge_uids: list[str] = Field(default_factory=list, description="this person's badges, hex card UIDs")

    @field_validator("pin_hash")
    @classmethod
    def _a_pin_hash(cls, value: str | None) -> str | None:
        if value is not None:
            parse_pin_hash(value)  # MalformedPinHash is a ValueError: pydantic reports it at the key
            value = value.strip()
        return value

    @field_validator("badge_uids")
    @classmethod
    def _uids(cls, values: list[str]) -> list[str]:
        _check_hex_bytes(values)
        if any("X" in _normal_hex(v) for v in values):
            raise ValueError("a badge UID is plain hex (XX wildcards are for ATR patterns)")
        return [_normal_hex(v) for v in values]  # as `identify_badge` reports them

    @model_validator(mode="after")
    def _can_log_in(self) -> StaffMemberConfig:
        if self.pin_hash is None and not self.badge_uids:
            raise ValueError(f"staff member {self.id!r} needs a pin_hash or badge_uids to log in")
        return self


class StaffSection(_Section):
    # Staff badges tapped on the card reader are told apart from payment cards (never paid with).
    badge_atr_patterns: list[str] = Field(default_factory=list, description="hex ATRs, XX = any byte")
    badge_uids: list[str] = Field(default_factory=list, description="hex card UIDs")
    members: list[StaffMemberConfig] = Field(default_factory=list, max_length=500)
    lockout_attempts: int = Field(default=5, ge=1, le=100, description="This many wrong PINs in a row lock PIN entry")
    lockout_s: float = Field(default=300.0, ge=10, le=86_400, description="... for this long")
    idle_s: float = Field(default=120.0, ge=10, le=3600, description="A staff session ends after this long without a touch")
    corner_hold_s: float = Field(default=3.0, ge=1, le=10, description="Holding a corner this long asks for a staff PIN")

    @field_validator("badge_atr_patterns", "badge_uids")
    @classmethod
    def _hex_bytes(cls, values: list[str]) -> list[str]:
        return _check_hex_bytes(values)

    @model_validator(mode="after")
    def _members_are_distinct(self) -> StaffSection:
        ids: set[str] = set()
        owner: dict[str, str] = {}
        for member in self.members:
            if member.id in ids:
                raise ValueError(f"staff member id {member.id!r} appears twice")
            ids.add(member.id)
            for uid in member.badge_uids:
                if uid in owner:
                    raise ValueError(f"badge UID {uid} belongs to both {owner[uid]!r} and {member.id!r}")
                owner[uid] = member.id
        # Every member's badge is a badge: the reader's BadgeMatcher (built from `badge_uids`) must
        # know it, or it would be treated as a payment card. Listing it once, on the member, is enough.
        known = {_normal_hex(uid) for uid in self.badge_uids}
        self.badge_uids = [*self.badge_uids, *(uid for uid in owner if uid not in known)]
        return self


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
    # What a new shopper session starts in (staff may change these); the accessibility panel still
    # switches each mode per shopper. Theme names as the palettes' in kiosk/theme.py.
    theme: Literal["standard", "high_contrast"] = Field(default="standard", description="The palette a session starts in")
    large_text: bool = Field(default=False, description="Sessions start in large-text mode")
    low_reach: bool = Field(default=False, description="Sessions start in low-reach mode")


class SessionSection(_Section):
    # When a shopper walks away: "Still there?" after idle_s, the full reset countdown_s later.
    idle_s: float = Field(default=90.0, gt=0, le=3600, description="No touch this long: ask 'Still there?'")
    countdown_s: float = Field(default=10.0, ge=0, le=120, description="The question's countdown to the reset")
    receipt_s: float = Field(default=60.0, gt=0, le=3600, description="The receipt QR stays this long, then resets")


class FleetSection(_Section):
    """Fleet configuration (docs/fleet.md): where this pillar fetches its signed bundles, whose keys it
    trusts, and how it applies them."""

    enabled: bool = Field(default=True, description="Fetch and apply fleet bundles")
    url: str = Field(default="", description="Base URL of the bundle files (empty: <api.base_url>/fleet)")
    keys: Path = Field(default=Path("fleet_keys"), description="Folder of the trusted public keys (*.pub.pem)")
    poll_interval_s: float = Field(default=300.0, ge=10, le=86_400, description="Ask for new bundles this often")
    report_interval_s: float = Field(default=300.0, ge=10, le=86_400, description="Report at least this often")
    health_grace_s: float = Field(default=120.0, ge=5, le=3600,
                                  description="After applying, watch the pillar's health this long")
    health_interval_s: float = Field(default=10.0, ge=0.5, le=600, description="... checking this often")
    health_failures: int = Field(default=3, ge=1, le=100,
                                 description="This many failed checks in a row in the grace period: roll back")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value) if value else value


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
    fleet: FleetSection = FleetSection()
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

    @property
    def fleet_keys_dir(self) -> Path:
        if self.source is None and not self.fleet.keys.is_absolute():
            return DEFAULT_CONFIG.parent / self.fleet.keys  # settings made in code: the shipped keys
        return self.resolve(self.fleet.keys)

    @property
    def fleet_url(self) -> str:
        return self.fleet.url or f"{self.api.base_url}/fleet"


# Values never repeated in an error message: a PIN typed where its hash belongs must not reach a log.
_UNSHOWN_KEYS = frozenset({"pin_hash", "token"})


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"key {key}: unknown key (misspelt?)"
    value = error.get("input")
    hidden = isinstance(value, dict) or any(part in _UNSHOWN_KEYS for part in error["loc"])
    shown = "" if hidden else f" (got {value!r})"
    return f"key {key}: {error['msg']}{shown}"


def parse_settings(data: dict[str, Any], source: Path | None = None) -> Settings:
    where = str(source) if source else "configuration"
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(err) for err in exc.errors())
        raise ConfigError(f"{where}: {problems}") from None
    # pydantic's Path takes any str, but one with a NUL (TOML allows "\u0000") or a lone surrogate makes
    # every file call on it raise ValueError later, far from the file and the key: refuse it here.
    unusable = []
    for section, model in settings:
        for name, value in model if isinstance(model, BaseModel) else ():
            if isinstance(value, Path):
                try:
                    str(value).encode("utf-8", "surrogateescape")  # what os.fsencode does with it
                    usable = "\x00" not in str(value)
                except UnicodeEncodeError:
                    usable = False
                if not usable:
                    unusable.append(f"key {section}.{name}: not a usable path (a NUL character or invalid text)")
    if unusable:
        raise ConfigError(f"{where}: {'; '.join(unusable)}")
    return settings.model_copy(update={"source": source})


def load_settings(path: Path) -> Settings:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror or exc})") from None
    except ValueError:  # a NUL in the path itself
        raise ConfigError(f"{path!r}: cannot read config file (not a usable path)") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses once per level of "[[[[" or "{a = {a = ..."
        raise ConfigError(f"{path}: not valid TOML: arrays or tables nested too deeply") from None
    settings = parse_settings(data, source=path.resolve())
    key_path = settings.payment_public_key_path
    try:
        found = key_path.is_file()
    except OSError as exc:  # is_file() passes on e.g. "File name too long" (ENAMETOOLONG)
        raise ConfigError(f"{path}: key payment.public_key: not a usable path ({exc.strerror})") from None
    if not found:
        raise ConfigError(f"{path}: key payment.public_key: file not found: {key_path}")
    return settings
