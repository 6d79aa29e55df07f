"""How saksflyt reaches a real Temporal cluster: temporalio's environment configuration read into
`Settings`, the TLS the client is given, and a failed connection said in one line.

Why through temporalio's environment configuration (`temporalio.envconfig`): an operator of a
cluster or of Temporal Cloud already has it for the `temporal` CLI (`TEMPORAL_ADDRESS`,
`TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS_*`, and the profiles of
`~/.config/temporalio/temporal.toml` or `TEMPORAL_CONFIG_FILE`, chosen by `TEMPORAL_PROFILE`);
saksflyt reads the same, so one configuration serves both. It is only a settings source below
`SAKSFLYT_*`: every process still reads one `Settings` object, and the dev-key refusals see the
address that will be used.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic.fields import FieldInfo
from pydantic_settings import PydanticBaseSettingsSource
from temporalio.envconfig import ClientConfigProfile, DataSource
from temporalio.service import TLSConfig

if TYPE_CHECKING:
    from workers.settings import Settings


class TemporalEnvConfig(PydanticBaseSettingsSource):
    """The profile temporalio's environment configuration selects (its `TEMPORAL_*` variables
    over its TOML file), as Settings fields. Below the `SAKSFLYT_*` variables, `.env` and secret
    files, above the defaults."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # all is read at once, in __call__

    def __call__(self) -> dict[str, Any]:
        return from_profile(load_profile())


def load_profile() -> ClientConfigProfile:
    """The selected profile; a profile named but missing, or a TOML file that does not parse, is
    an error in one line rather than a silent fall back to the defaults."""
    try:
        return ClientConfigProfile.load()
    except Exception as error:  # the bridge's ConfigError
        raise ValueError(f"Temporal client configuration (TEMPORAL_*): {error}") from None


def from_profile(profile: ClientConfigProfile) -> dict[str, Any]:
    """The profile's values under the names of Settings' fields; what it leaves out stays out."""
    values: dict[str, Any] = {
        "temporal_address": profile.address,
        "temporal_namespace": profile.namespace,
        "temporal_api_key": profile.api_key,
    }
    if tls := profile.tls:
        values |= {
            "temporal_tls": None if tls.disabled is None else not tls.disabled,
            "temporal_tls_server_name": tls.server_name,
            "temporal_tls_server_ca_cert": _as_text(tls.server_root_ca_cert),
            "temporal_tls_client_cert": _as_text(tls.client_cert),
            "temporal_tls_client_key": _as_text(tls.client_private_key),
        }
    return {name: value for name, value in values.items() if value is not None}


def _as_text(source: DataSource | None) -> str | None:
    """A file's path, or the PEM itself, as Settings keeps either."""
    if isinstance(source, bytes):
        return source.decode()
    return None if source is None else str(source)


class ConnectFailed(RuntimeError):
    """Temporal could not be reached, or refused us, said in one line that names the problem.
    A RuntimeError, as the SDK's own "Failed client connect" is, so callers catch either."""


def tls_config(settings: Settings) -> bool | TLSConfig:
    """TLS off unless asked for: by `temporal_tls`, any TLS setting, or an API key (Temporal
    Cloud's keys need TLS). The certificates are read here, so a missing file is named."""
    given = [
        settings.temporal_tls_server_ca_cert,
        settings.temporal_tls_client_cert,
        settings.temporal_tls_client_key.get_secret_value(),
        settings.temporal_tls_server_name,
    ]
    wanted = any(given) or bool(settings.temporal_api_key.get_secret_value())
    if not (wanted if settings.temporal_tls is None else settings.temporal_tls):
        return False
    return TLSConfig(
        server_root_ca_cert=_pem("server CA certificate", given[0]),
        client_cert=_pem("client certificate", given[1]),
        client_private_key=_pem("client key", given[2]),
        domain=settings.temporal_tls_server_name or None,
    )


def _pem(what: str, value: str) -> bytes | None:
    """The PEM given in the setting itself, or read from the file it names."""
    if not value:
        return None
    if value.lstrip().startswith("-----BEGIN"):
        return value.encode()
    try:
        return Path(value).expanduser().read_bytes()
    except OSError as error:
        raise ConnectFailed(f"TLS: cannot read the {what} {value}: {error.strerror}") from None


# What the SDK's (rustls') message says, and what it means for the operator.
_PROBLEMS = [
    ("UnknownIssuer", "TLS: the server's certificate is not signed by the server CA given"),
    ("CertificateRequired", "TLS: the server requires a client certificate and key"),
    ("BadCertificate", "TLS: the server refused the client certificate"),
    ("UnknownCA", "TLS: the server does not trust the client certificate's CA"),
    ("CertificateExpired", "TLS: a certificate has expired"),
    ("Expired", "TLS: the server's certificate has expired"),
    ("InvalidContentType", "TLS: the server does not speak TLS (is TLS wanted here?)"),
    ("CorruptMessage", "TLS: the server does not speak TLS (is TLS wanted here?)"),
    ("Connection refused", "connection refused"),
    ("dns error", "the host name does not resolve"),
]
# A server that refuses the client's certificate sends its alert and closes at once; the client,
# already writing, often sees only the closed connection.
_CLOSED = ("BrokenPipe", "ConnectionReset", "UnexpectedEof", "connection closed")
_CLOSED_TLS = (
    "TLS: the server closed the connection after the handshake: it may require a client "
    "certificate, or refuse the one given"
)
_CLOSED_PLAIN = "the server closed the connection at once: does it want TLS?"
_WRONG_NAME = re.compile(r"NotValidForName\w*\s*\{\s*expected: DnsName\(\"([^\"]+)\"\)")


def problem(error: BaseException, tls: bool) -> str:
    """The SDK's "Failed client connect: ..." (a Rust error's debug text) as one plain line."""
    said = str(error)
    if "NotValidForName" in said:
        name = match.group(1) if (match := _WRONG_NAME.search(said)) else "asked for"
        return f"TLS: the server's certificate is not valid for the server name {name}"
    for marker, meaning in _PROBLEMS:
        if marker in said:
            return meaning
    if any(marker in said for marker in _CLOSED):
        return _CLOSED_TLS if tls else _CLOSED_PLAIN
    return " ".join(said.split())[:300]
