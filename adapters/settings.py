"""Settings read once from the environment, with casts and defaults; secrets print as stars."""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


class Secret(str):
    """A string that does not show itself in reprs and logs."""

    def __repr__(self) -> str:
        return "Secret('**********')"


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def default_database_url(data_dir: Path) -> str:
    """The embedded default: a SQLite file under the data folder."""
    return f"sqlite://{data_dir / 'gateway.sqlite3'}"


@dataclass(frozen=True)
class Settings:
    """Everything the process is configured with."""

    database_url: str
    redis_url: str | None
    data_dir: Path
    secret_key: Secret = field(repr=False)
    environment: str = "development"  # development | production | test
    introspection: bool = True
    field_suggestions: bool = True
    graphiql: bool = True
    compiled_execution: bool = True  # queries through plans compiled once per document
    max_page_size: int = 100
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 4000
    max_variable_tokens: int = 20_000  # scalars, keys and words in a request's variables
    max_body_bytes: int = 1_048_576
    anonymous_rate_limit_per_minute: int = 1200
    access_token_ttl_seconds: int = 3600
    cache_ttl_seconds: int = 300
    seed_on_start: bool = False
    reservation_sweep_seconds: float = 30.0
    outbox_relay_seconds: float = 1.0
    payment_sweep_seconds: float = 5.0
    # marketplace accounts (adapters/marketplaces/config.py): JSON list or @file, never logged
    marketplaces: str = field(default="", repr=False)
    marketplace_push_seconds: float = 1.0  # pushes and owed calls, at the latest this often
    marketplace_import_seconds: float = 60.0  # order import on a schedule (and on notifications)
    # X-Forwarded-For is believed only from these direct peers (CIDRs); none by default
    trusted_proxies: tuple[str, ...] = ()
    phone_default_region: str = "FR"  # how a national phone number is read (E.164)
    signup_limit_per_hour: int = 20  # member sign-ups per client address
    scan_limit_per_minute: int = 60  # QR scans recorded per client address
    # what one store manager may give per day before an owner must approve (points; voucher cents)
    manager_daily_points_cap: int = 5_000
    manager_daily_voucher_cap_cents: int = 20_000
    # payments: Stripe (or an emulator at STRIPE_API_BASE); an empty secret key = payments off
    stripe_api_base: str = ""
    stripe_secret_key: Secret = field(default=Secret(""), repr=False)
    stripe_webhook_secret: Secret = field(default=Secret(""), repr=False)
    # without a Stripe key: a labelled in-process test mode (test cards, simulated wallets);
    # on by default outside production, where no key means payments are off
    payments_test_mode: bool = True
    # the server's own address as a browser reaches it (TEST MODE wallet pages link to it)
    public_base_url: str = "http://127.0.0.1:8000"
    # the daily reconciliation: the brand's calendar day, written at this hour of the next day
    reconcile_timezone: str = "Europe/Paris"
    reconcile_hour: int = 2
    # a read replica of database_url (PostgreSQL streaming replica): catalog reads made outside
    # any transaction go there; writes and every read of a unit of work stay on the primary
    database_read_url: str | None = None

    @property
    def embedded_database(self) -> bool:
        """The SQLite default (one writer: one serving process)."""
        return self.database_url.startswith("sqlite")

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read the settings from ``env`` (default: the process environment)."""
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("DATA_DIR") or Path.cwd() / "data")
        environment = env.get("APP_ENV", "development")
        production = environment == "production"
        secret = env.get("SECRET_KEY")
        if not secret:
            if production:
                raise RuntimeError("SECRET_KEY must be set when APP_ENV=production")
            secret = _dev_secret(data_dir)
        return cls(
            database_url=env.get("DATABASE_URL") or default_database_url(data_dir),
            redis_url=env.get("REDIS_URL") or None,
            data_dir=data_dir,
            secret_key=Secret(secret),
            environment=environment,
            introspection=_bool(env.get("GRAPHQL_INTROSPECTION"), not production),
            field_suggestions=_bool(env.get("GRAPHQL_FIELD_SUGGESTIONS"), not production),
            graphiql=_bool(env.get("GRAPHIQL"), not production),
            compiled_execution=_bool(env.get("COMPILED_EXECUTION"), True),
            max_page_size=int(env.get("MAX_PAGE_SIZE", "100")),
            anonymous_rate_limit_per_minute=int(env.get("RATE_LIMIT_ANONYMOUS", "1200")),
            max_variable_tokens=int(env.get("MAX_VARIABLE_TOKENS", "20000")),
            seed_on_start=_bool(env.get("SEED_ON_START"), False),
            reservation_sweep_seconds=float(env.get("RESERVATION_SWEEP_SECONDS", "30")),
            outbox_relay_seconds=float(env.get("OUTBOX_RELAY_SECONDS", "1")),
            payment_sweep_seconds=float(env.get("PAYMENT_SWEEP_SECONDS", "5")),
            marketplaces=(env.get("MARKETPLACES") or "").strip(),
            marketplace_push_seconds=float(env.get("MARKETPLACE_PUSH_SECONDS", "1")),
            marketplace_import_seconds=float(env.get("MARKETPLACE_IMPORT_SECONDS", "60")),
            trusted_proxies=_cidrs(env.get("TRUSTED_PROXIES", "")),
            phone_default_region=(env.get("PHONE_DEFAULT_REGION") or "FR").strip().upper(),
            signup_limit_per_hour=int(env.get("SIGNUP_LIMIT_PER_HOUR", "20")),
            scan_limit_per_minute=int(env.get("SCAN_LIMIT_PER_MINUTE", "60")),
            manager_daily_points_cap=int(env.get("MANAGER_DAILY_POINTS_CAP", "5000")),
            manager_daily_voucher_cap_cents=int(
                env.get("MANAGER_DAILY_VOUCHER_CAP_CENTS", "20000")
            ),
            stripe_api_base=(env.get("STRIPE_API_BASE") or "").strip(),
            stripe_secret_key=Secret(env.get("STRIPE_SECRET_KEY") or ""),
            stripe_webhook_secret=Secret(env.get("STRIPE_WEBHOOK_SECRET") or ""),
            payments_test_mode=_bool(env.get("PAYMENTS_TEST_MODE"), not production),
            public_base_url=(env.get("PUBLIC_BASE_URL") or "").strip().rstrip("/")
            or public_base_url(env.get("HOST") or "127.0.0.1", env.get("PORT") or "8000"),
            reconcile_timezone=_timezone(env.get("RECONCILE_TIMEZONE") or "Europe/Paris"),
            reconcile_hour=_hour(env.get("RECONCILE_HOUR") or "2"),
            database_read_url=(env.get("DATABASE_READ_URL") or "").strip() or None,
        )


def _cidrs(value: str) -> tuple[str, ...]:
    """Comma-separated addresses or networks, checked now so a typo fails at start."""
    found = []
    for item in value.split(","):
        if item.strip():
            try:
                found.append(str(ipaddress.ip_network(item.strip(), strict=False)))
            except ValueError:
                raise RuntimeError(f"TRUSTED_PROXIES: {item.strip()!r} is not a CIDR") from None
    return tuple(found)


def _timezone(name: str) -> str:
    """An IANA timezone name, checked now so a typo fails at start."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise RuntimeError(f"RECONCILE_TIMEZONE: {name!r} is not a timezone") from None
    return name.strip()


def _hour(value: str) -> int:
    """An hour of the day, 0 to 23."""
    if not value.strip().isdigit() or not 0 <= int(value) <= 23:
        raise RuntimeError(f"RECONCILE_HOUR: {value!r} is not an hour from 0 to 23")
    return int(value)


def public_base_url(host: str, port: int | str) -> str:
    """The address a browser on this machine reaches a server bound to ``host:port`` at."""
    host = host.strip()
    if host in ("", "0.0.0.0", "::", "[::]"):  # bound to every interface: use the loopback
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _dev_secret(data_dir: Path) -> str:
    """A per-machine development secret kept in the data folder, so tokens survive restarts."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "dev-secret-key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
