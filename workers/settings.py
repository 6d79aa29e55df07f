"""Settings: one object, read from the environment (prefix SAKSFLYT_) by the entry points."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting saksflyt reads; the README lists them. Defaults fit `saksflyt dev`."""

    model_config = SettingsConfigDict(env_prefix="SAKSFLYT_", env_file=".env", extra="ignore")

    data_dir: Path = Path(".saksflyt")
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_ui_port: int = 8233
    task_queue: str = "saksflyt"

    topdesk_url: str = "http://127.0.0.1:8700"
    topdesk_login: str = "saksflyt"
    topdesk_app_password: SecretStr = SecretStr("sim-app-password")

    intake_host: str = "127.0.0.1"
    intake_port: int = 8701
    webhook_secret: SecretStr = SecretStr("dev-webhook-secret")
    webhook_secret_header: str = "X-Saksflyt-Secret"

    simulator_port: int = 8700
    log_format: str = "auto"  # "console", "json" or "auto" (console on a terminal)

    @property
    def sap_stub_path(self) -> Path:
        return self.data_dir / "sap-stub.db"

    @property
    def spk_stub_path(self) -> Path:
        return self.data_dir / "spk-stub.db"

    @property
    def archive_stub_path(self) -> Path:
        return self.data_dir / "archive-stub.db"

    @property
    def portal_stub_path(self) -> Path:
        return self.data_dir / "portal-stub.db"

    @property
    def quarantine_path(self) -> Path:
        return self.data_dir / "quarantine.db"

    @property
    def simulator_path(self) -> Path:
        return self.data_dir / "topdesk-simulator.db"

    @property
    def intake_url(self) -> str:
        return f"http://{self.intake_host}:{self.intake_port}"
