"""Settings, read from the environment (prefix ``COUNTER_``) and an optional ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from counter.errors import ConfigurationError
from counter.text import Text

__all__ = [
    "DEFAULT_SECRET_KEY",
    "DEMO_PEER_KEY",
    "PEERS",
    "MaskingPolicy",
    "Settings",
    "get_settings",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Demo-only value; check_secret() refuses it outside demo mode.
DEFAULT_SECRET_KEY = "change-me-demo-only"  # noqa: S105
# Demo-only key the HTTP adapters share with the simulators; refused outside demo mode too.
DEMO_PEER_KEY = "demo-peer-key-not-secret"
PEERS = ("acquirer", "identity", "sms")


class MaskingPolicy(BaseSettings):
    """How many leading and trailing characters stay visible; the rest become ``*``."""

    model_config = SettingsConfigDict(env_prefix="COUNTER_MASK_", frozen=True)

    card_head: int = 6
    card_tail: int = 4
    id_head: int = 3
    id_tail: int = 4
    phone_head: int = 3
    phone_tail: int = 4
    name_head: int = 1


class Settings(BaseSettings):
    """Everything an operator can set. See docs/operations.md."""

    model_config = SettingsConfigDict(env_prefix="COUNTER_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{PROJECT_ROOT / 'var' / 'counter.db'}"
    )
    workflows_dir: Path = PROJECT_ROOT / "workflows"
    forms_dir: Path = PROJECT_ROOT / "forms"
    var_dir: Path = PROJECT_ROOT / "var"
    # The console's pieces of the slip's rare-character fonts (counter fonts build).
    font_cache_dir: Path = PROJECT_ROOT / "var" / "fonts"
    demo_mode: bool = False
    demo_password: str = "counter-demo-2026"  # noqa: S105  demo users only, documented
    secret_key: str = DEFAULT_SECRET_KEY
    secure_cookies: bool = False
    session_idle_minutes: int = 15
    bank_name: Text = Text(zh="示例银行", en="Example Bank")
    status_url: str = "http://127.0.0.1:8000/status"
    slip_format: str = "a5"
    photo_score_threshold: int = 70
    identity_adapter: str = "local"
    acquirer_adapter: str = "local"
    sms_adapter: str = "local"
    # The HTTP adapters (an adapter setting of "http"; docs/integration.md): where each peer
    # listens, and the key id and shared key that sign requests and answers.
    acquirer_url: str = "http://127.0.0.1:8101"
    acquirer_key_id: str = "demo-1"
    acquirer_key: str = DEMO_PEER_KEY
    identity_url: str = "http://127.0.0.1:8102"
    identity_key_id: str = "demo-1"
    identity_key: str = DEMO_PEER_KEY
    sms_url: str = "http://127.0.0.1:8103"
    sms_key_id: str = "demo-1"
    sms_key: str = DEMO_PEER_KEY
    peer_connect_timeout_seconds: float = 1.0
    peer_read_timeout_seconds: float = 5.0
    # A teller waits for the identity check: fewer seconds and fewer attempts than the outbox.
    identity_read_timeout_seconds: float = 3.0
    peer_attempts: int = 3
    identity_attempts: int = 2
    peer_breaker_failures: int = 5
    peer_breaker_reset_seconds: float = 30.0
    peer_clock_skew_seconds: float = 300.0
    # One step's checks ask the acquirer the same look-ups many times: keep answers this long.
    acquirer_lookup_cache_seconds: float = 2.0
    # Outbox deliveries: attempts before the case goes to its on-failure state, and the
    # backoff between them (doubling from the base, capped, minus up to `jitter` of it).
    # The defaults ride out about half an hour of a peer's outage before a supervisor is asked.
    outbox_max_attempts: int = 12
    outbox_retry_base_seconds: float = 2.0
    outbox_retry_max_seconds: float = 600.0
    outbox_retry_jitter: float = 0.2
    # How long a claimed delivery stays claimed: a deliverer killed mid-delivery holds it that long.
    outbox_lease_seconds: float = 120.0
    # Deliveries to outside systems in flight at once in one deliverer (threads): a slow answer
    # or a timeout holds one of them, not every message behind it.
    outbox_threads: int = Field(default=4, ge=1, le=32)
    # When set, /metrics wants "Authorization: Bearer <token>".
    metrics_token: str = ""
    # The branch's time zone (IANA name): every time shown to staff is in it, labelled;
    # stored times stay UTC.
    branch_zone: str = "Asia/Shanghai"
    case_idle_hours: int = 8
    # Idempotency keys (reference and version only) are kept this long, then the sweeper
    # deletes them: a repeat after that is a new request (refused as stale, never applied twice).
    idempotency_keep_hours: int = Field(default=24, ge=1)
    # Idle cases expire and due outbox retries are delivered this often (seconds; 0 turns
    # it off, e.g. when `counter sweep` runs as its own service): by the outbox worker, or
    # with inline delivery by each web process.
    housekeeping_seconds: float = 10.0
    # Who delivers the outbox (acquirer, SMS, slips): "inline", the process whose step wrote
    # it, right after the commit (tests, the CLI); "worker", `counter worker`, woken by the
    # commit (`counter serve` sets it unless --inline).
    outbox_delivery: Literal["inline", "worker"] = "inline"
    # The worker polls this often when no commit wakes it (seconds): a fallback only.
    worker_poll_seconds: float = 5.0
    # Niceness the outbox worker takes (0-19): its renders yield to the web processes' requests,
    # and its deliveries too, so it falls behind when they are busy; off by default
    # (docs/operations.md, "Processes: the web and the outbox worker").
    worker_nice: int = Field(default=0, ge=0, le=19)
    # Threads of each web process's pool for sync routes (0: anyio's default of 40); 4 did best
    # of 1, 2, 4, 8 and 40 under the realistic load (docs/operations.md, "Threads").
    web_threads: int = 4
    # Benchmarks only: each process keeps its count of write transactions in a file here.
    bench_tally_dir: Path | None = None
    masking: MaskingPolicy = Field(default_factory=MaskingPolicy)
    # --- sign-in security (docs/operations.md, "Security settings") ---
    # Wrong passwords in a row (sign-in, sign-off, password change) that lock an account,
    # and for how long.
    lockout_after: int = Field(default=5, ge=1)
    lockout_minutes: int = Field(default=15, ge=1)
    # Sign-in attempts a minute from one client address (console and API together; 0: no limit).
    login_per_address_per_minute: int = Field(default=30, ge=0)
    # A session ends this long after sign-in, however active (besides session_idle_minutes).
    session_lifetime_hours: float = Field(default=12.0, gt=0)
    # New passwords are refused when on the shipped list of common passwords.
    common_password_check: bool = True

    def check_secret(self) -> None:
        """Refuse the default secret key, and the demo key of an HTTP peer, outside demo mode."""
        if self.demo_mode:
            return
        if self.secret_key == DEFAULT_SECRET_KEY:
            raise ConfigurationError(
                Text(
                    zh="生产模式下必须设置 COUNTER_SECRET_KEY,不能使用默认密钥。",
                    en="COUNTER_SECRET_KEY must be set outside demo mode; the default is refused.",
                )
            )
        for peer in PEERS:
            if getattr(self, f"{peer}_adapter").strip() == "http" and (
                getattr(self, f"{peer}_key") == DEMO_PEER_KEY
            ):
                name = f"COUNTER_{peer.upper()}_KEY"
                raise ConfigurationError(
                    Text(
                        zh=f"生产模式下必须设置 {name},不能使用演示密钥。",
                        en=f"{name} must be set outside demo mode; the demo key is refused.",
                    ),
                    setting=name.lower(),
                )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
