"""Settings: one object, read from the environment (prefix SAKSFLYT_) by the entry points."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from domain.cases import CaseTimings
from domain.processes import SLA_DEFAULTS
from domain.sla import DEFAULT_WAIT_LIMITS, SlaTarget
from domain.summer import SummerPeriod, day_month
from workers.codec import parse_key
from workers.temporal_config import TemporalEnvConfig

WebhookSource = Literal["topdesk", "dfo"]
# The pseudonym key of `saksflyt dev` and the tests; anyone can hash 10^8 employee numbers with
# it, so a worker refuses it unless Temporal runs on this machine.
DEV_PSEUDONYM_KEY = "dev-pseudonym-key"
# The payload key of `saksflyt dev` and the tests: public too, so refused the same way.
DEV_CODEC_KEY_ID = "dev"
DEV_CODEC_KEY = "c2Frc2ZseXQgZGV2IGNvZGVjIGtleSwgbm90IHNlY3I="
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


class Settings(BaseSettings):
    """Every setting saksflyt reads; the README lists them. Defaults fit `saksflyt dev`."""

    # Secrets may also come as files (docker/compose.yaml mounts them at /run/secrets): the folder
    # named by SAKSFLYT_SECRETS_DIR holds one file per setting, named `saksflyt_<field>` (e.g.
    # saksflyt_webhook_secret; any case), its content the value. The environment wins over a file.
    model_config = SettingsConfigDict(
        env_prefix="SAKSFLYT_",
        env_file=".env",
        extra="ignore",
        secrets_dir=os.environ.get("SAKSFLYT_SECRETS_DIR") or None,
    )

    data_dir: Path = Path(".saksflyt")
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    # A real cluster's TLS (mTLS) and API key. These, the address and the namespace may also come
    # from temporalio's environment configuration, as the `temporal` CLI reads it (TEMPORAL_*,
    # TOML profiles; workers/temporal_config.py); SAKSFLYT_* wins. A certificate or key is a file
    # or the PEM itself. `temporal_tls` None: on once any of them or an API key is given.
    temporal_tls: bool | None = None
    temporal_tls_server_ca_cert: str = ""
    temporal_tls_client_cert: str = ""
    temporal_tls_client_key: SecretStr = SecretStr("")
    temporal_tls_server_name: str = ""
    temporal_api_key: SecretStr = SecretStr("")
    # How long a process waits for Temporal to answer its first call before it says why not.
    temporal_connect_timeout_seconds: float = 10.0
    temporal_ui_port: int = 8233
    task_queue: str = "saksflyt"
    # The worker's tuning (README, "Settings"; figures from `make bench`). Activities wait on
    # TOPdesk and SAP, each on a thread of its own. A cached case answers its next task without a
    # replay, at about 150 KB of worker memory (bench/scale.py): 2,500 of them, plus the worker
    # itself, stay within 1 GB however many cases are open; an evicted case is replayed instead.
    worker_max_concurrent_workflow_tasks: int = 100
    worker_max_concurrent_activities: int = 20
    worker_max_cached_workflows: int = 2_500
    worker_workflow_pollers: int = 5
    worker_activity_pollers: int = 5
    # "off": workflows run without Temporal's sandbox, a third less worker CPU a case;
    # "strict": the SDK's sandbox as it comes, which stops a wall clock or `random` in workflow
    # code at run time. The tests run strict (workers/worker.py, `workflow_runner`).
    worker_sandbox: Literal["off", "strict"] = "off"

    topdesk_url: str = "http://127.0.0.1:8700"
    topdesk_login: str = "saksflyt"
    topdesk_app_password: SecretStr = SecretStr("sim-app-password")

    intake_host: str = "127.0.0.1"
    intake_port: int = 8701
    webhook_secret: SecretStr = SecretStr("dev-webhook-secret")
    webhook_secret_header: str = "X-Saksflyt-Secret"
    dfo_webhook_secret: SecretStr = SecretStr("")  # empty: the same as webhook_secret
    webhook_hmac_key: SecretStr = SecretStr("")  # empty: no signature asked for
    # Which sources must sign once a key is set; TOPdesk signs nothing, so a deployment that
    # signs only DFØ's events sets "dfo".
    webhook_hmac_sources: Annotated[frozenset[WebhookSource], NoDecode] = frozenset(
        {"topdesk", "dfo"}
    )
    webhook_replay_window_seconds: int = 300
    webhook_max_bytes: int = 64 * 1024

    # While Temporal is away the intake's outbox retries after this many seconds, doubling up to
    # the cap (which is also how often an idle intake looks for events another process queued).
    outbox_retry_first: float = 1.0
    outbox_retry_max: float = 60.0
    # The intake's TOPdesk reads (to route an event) run on threads of their own, at most this
    # many at once, each given up after this many seconds (TOPdesk then counts as unavailable),
    # so that a slow TOPdesk never holds up the outbox and the quarantine.
    intake_topdesk_concurrency: int = 32
    intake_topdesk_timeout_seconds: float = 10.0
    # Distinct events the intake's quarantine keeps; once full, a new one is answered 503.
    quarantine_max_events: int = 10_000

    # The employee's pseudonym in visibility (`EmployeeKey`) is keyed with this; keep it secret
    # and stable, or the cases of one employee are no longer found together.
    pseudonym_key: SecretStr = SecretStr(DEV_PSEUDONYM_KEY)
    # Every payload written to Temporal is sealed with AES-256-GCM (workers/codec.py): key id →
    # 32 bytes in base64, as JSON (SAKSFLYT_CODEC_KEYS='{"2027-01": "..."}'); new payloads use
    # the active one, older ones open under the key they name. Keep retired keys as long as a
    # history sealed under them lives. `saksflyt codec-key` makes a key.
    codec_keys: dict[str, SecretStr] = {DEV_CODEC_KEY_ID: SecretStr(DEV_CODEC_KEY)}
    codec_active_key: str = DEV_CODEC_KEY_ID
    # The codec server (`saksflyt codec-server`) that lets Temporal UI and the `temporal` CLI show
    # decoded cases to those who may read them: a bearer token each (empty: no check, allowed
    # only on loopback), and the UI's origins for CORS.
    codec_server_host: str = "127.0.0.1"
    codec_server_port: int = 8702
    codec_server_tokens: list[SecretStr] = []
    codec_server_origins: list[str] = []  # empty: Temporal UI's own on this machine
    # SLA targets per process and the radar's limits per wait state, in working days
    # (domain/sla.py); JSON in the environment, e.g. SAKSFLYT_SLA_TARGETS='{"new_hire":
    # {"due_days": 2, "expires_days": 4}}'. A process or state left out keeps its default.
    sla_targets: dict[str, SlaTarget] = SLA_DEFAULTS
    wait_limits: dict[str, float] = DEFAULT_WAIT_LIMITS
    # The summer rule (seed 002): from and to these days ("DD.MM", both included, every year) a
    # wait for the caller shows "På vent" and never closes; either empty: off. A case keeps the
    # period it was started with.
    summer_from: str = "01.06"
    summer_to: str = "31.08"
    # The stuck-case radar's schedule: every this many minutes.
    radar_every_minutes: int = 60
    # Prometheus metrics of the worker (SDK metrics and the business gauges); empty: off.
    metrics_address: str = "127.0.0.1:9464"
    metrics_every_seconds: float = 30.0
    # OpenTelemetry traces (workers/tracing.py) to an OTLP/HTTP collector at this base URL, e.g.
    # http://otel-collector:4318; empty: off (no span is made). The standard OTEL_EXPORTER_OTLP_*
    # variables set its headers, certificate and timeout, OTEL_SERVICE_NAME the service's name.
    otlp_endpoint: str = ""

    simulator_port: int = 8700
    log_format: str = "auto"  # "console", "json" or "auto" (console on a terminal)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """pydantic-settings' own order, then the `temporal` CLI's configuration (TEMPORAL_*
        variables over its TOML profile) for the Temporal fields, then the defaults."""
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            file_secret_settings,
            TemporalEnvConfig(settings_cls),
        )

    @field_validator("sla_targets", "wait_limits", mode="after")
    @classmethod
    def _over_defaults(cls, value: dict[str, Any], info: Any) -> dict[str, Any]:
        """A setting names only what it changes; the rest keep their defaults."""
        defaults: dict[str, Any] = (
            SLA_DEFAULTS if info.field_name == "sla_targets" else DEFAULT_WAIT_LIMITS
        )
        return {**defaults, **value}

    @field_validator("summer_from", "summer_to")
    @classmethod
    def _day_month(cls, value: str) -> str:
        """Refused at start-up, not when the first case asks its caller."""
        if value.strip():
            day_month(value)
        return value.strip()

    @field_validator("webhook_hmac_sources", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """An environment variable says `topdesk,dfo`, not a JSON list."""
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    def case_timings(self) -> CaseTimings:
        """The timings a case's workflow is started with: the summer period, when set."""
        if not (self.summer_from and self.summer_to):
            return CaseTimings()
        return CaseTimings(summer=SummerPeriod(first=self.summer_from, last=self.summer_to))

    def pseudonym_key_for_use(self) -> str:
        """The key, refused when it is the public dev key and Temporal is not on loopback:
        there, `EmployeeKey` would be as good as the employee number in clear."""
        key = self.pseudonym_key.get_secret_value()
        if key == DEV_PSEUDONYM_KEY and not self.temporal_on_loopback:
            raise ValueError(
                "SAKSFLYT_PSEUDONYM_KEY is the dev key, and Temporal is at "
                f"{self.temporal_address}: set a secret key of your own"
            )
        return key

    def codec_keys_for_use(self) -> dict[str, bytes]:
        """The payload keys, refused when the public dev key is among them and Temporal is not on
        loopback: there it would seal nothing from anyone."""
        if DEV_CODEC_KEY_ID in self.codec_keys and not self.temporal_on_loopback:
            raise ValueError(
                f"SAKSFLYT_CODEC_KEYS holds the dev key, and Temporal is at "
                f"{self.temporal_address}: set keys of your own (`saksflyt codec-key`)"
            )
        return {
            key_id: parse_key(key_id, key.get_secret_value())
            for key_id, key in self.codec_keys.items()
        }

    @property
    def temporal_on_loopback(self) -> bool:
        return self.temporal_address.rsplit(":", 1)[0] in LOOPBACK

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
    def outbox_path(self) -> Path:
        return self.data_dir / "intake-outbox.db"

    @property
    def simulator_path(self) -> Path:
        return self.data_dir / "topdesk-simulator.db"

    @property
    def codec_origins(self) -> list[str]:
        """The origins whose pages may call the codec server: the configured ones, else the
        local Temporal UI's (`saksflyt dev`)."""
        local = [f"http://{host}:{self.temporal_ui_port}" for host in ("127.0.0.1", "localhost")]
        return self.codec_server_origins or local

    @property
    def codec_server_url(self) -> str:
        return f"http://{self.codec_server_host}:{self.codec_server_port}"

    @property
    def intake_url(self) -> str:
        return f"http://{self.intake_host}:{self.intake_port}"
