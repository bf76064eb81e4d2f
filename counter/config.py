"""Settings, read from the environment (prefix ``COUNTER_``) and an optional ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from counter.errors import ConfigurationError
from counter.text import Text

__all__ = ["DEFAULT_SECRET_KEY", "MaskingPolicy", "Settings", "get_settings"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Demo-only value; check_secret() refuses it outside demo mode.
DEFAULT_SECRET_KEY = "change-me-demo-only"  # noqa: S105


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
    # The branch's time zone (IANA name): every time shown to staff is in it, labelled;
    # stored times stay UTC.
    branch_zone: str = "Asia/Shanghai"
    case_idle_hours: int = 8
    # Each web process also expires idle cases and delivers due outbox retries this often
    # (seconds; 0 turns it off, e.g. when `counter sweep` runs as its own service).
    housekeeping_seconds: float = 10.0
    masking: MaskingPolicy = Field(default_factory=MaskingPolicy)

    def check_secret(self) -> None:
        """Refuse the default secret key outside demo mode."""
        if not self.demo_mode and self.secret_key == DEFAULT_SECRET_KEY:
            raise ConfigurationError(
                Text(
                    zh="生产模式下必须设置 COUNTER_SECRET_KEY,不能使用默认密钥。",
                    en="COUNTER_SECRET_KEY must be set outside demo mode; the default is refused.",
                )
            )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
