"""docker/: the image and the compose stack, checked without a container engine.

Nothing here builds an image or starts a container (no engine runs where the tests run). What is
checked: the compose file against the Compose Specification's JSON schema (check-jsonschema's
vendored copy, offline); that every SAKSFLYT_ variable and secret file names a real setting and
every service's environment makes a valid Settings; that every command and probe the stack runs is
a real `saksflyt` command; the Dockerfile with hadolint and the shell scripts with shellcheck;
the secret files read through SAKSFLYT_SECRETS_DIR; and that the setup job, Prometheus and the
proxy name what the stack really has. Each check is also shown failing on a broken input.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import click
import pytest
import typer
import yaml

from workers import cli
from workers.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"
BIN = Path(sys.executable).parent
SAKSFLYT_IMAGE = "saksflyt:"
# SAKSFLYT_ variables that are not Settings fields, each read by the code named.
NOT_SETTINGS = {"SAKSFLYT_SECRETS_DIR": ROOT / "workers" / "settings.py"}
VARIABLE = re.compile(r"\bSAKSFLYT_[A-Z0-9_]+\b")
CHECK_JSONSCHEMA = [sys.executable, "-m", "check_jsonschema"]
# Every rule at every level, and no `# hadolint ignore=` honoured.
HADOLINT = [str(BIN / "hadolint"), "--no-color", "--failure-threshold", "style"]
HADOLINT += ["--disable-ignore-pragma"]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def saksflyt_services(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in spec["services"].items()
        if str(service.get("image", "")).startswith(SAKSFLYT_IMAGE)
    }


def interpolate(value: str) -> str:
    """Compose's `${VAR:-default}` read with nothing set: the default."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", value)


def setting_names() -> set[str]:
    return {f"SAKSFLYT_{name.upper()}" for name in Settings.model_fields}


# -- (a) the Compose Specification -----------------------------------------------------------------


def check_compose_schema(path: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema with its vendored copy of the official compose-spec schema: no network."""
    return subprocess.run(
        [*CHECK_JSONSCHEMA, "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_compose_file_matches_the_compose_specification() -> None:
    result = check_compose_schema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_fails_on_a_broken_compose_file(tmp_path: Path) -> None:
    broken = compose()
    broken["services"]["intake"]["restart_policy"] = "always"  # no such key
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(broken))
    result = check_compose_schema(path)
    assert result.returncode != 0
    assert "restart_policy" in result.stdout


def test_every_image_is_pinned_to_a_version() -> None:
    for name, service in compose()["services"].items():
        image = interpolate(str(service["image"]))
        if image.startswith(SAKSFLYT_IMAGE):
            continue  # built here
        tag = image.partition(":")[2]
        assert tag and tag != "latest" and re.search(r"\d+\.\d+", tag), f"{name}: {image}"


# -- (b) SAKSFLYT_ variables and secret files name real settings -----------------------------------


def unknown_variables(text: str) -> set[str]:
    return set(VARIABLE.findall(text)) - setting_names() - set(NOT_SETTINGS)


def test_every_saksflyt_variable_names_a_setting() -> None:
    files = [COMPOSE, DOCKERFILE, *DOCKER.glob("*.sh"), *DOCKER.glob("temporal/*.sh")]
    found = {name for path in files for name in VARIABLE.findall(path.read_text())}
    assert len(found) >= 10  # the pattern finds them at all
    for path in files:
        assert not unknown_variables(path.read_text()), path.name
    for name, reader in NOT_SETTINGS.items():
        assert name in reader.read_text(), f"{name} is read nowhere"


def test_a_misspelt_variable_is_found() -> None:
    assert unknown_variables("SAKSFLYT_INTAKE_HOST: x\nSAKSFLYT_INTAKE_HOTS: y") == {
        "SAKSFLYT_INTAKE_HOTS"
    }


def service_settings(service: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The Settings a service's container would read from its environment (secrets aside)."""
    for name in [name for name in os.environ if name.startswith("SAKSFLYT_")]:
        monkeypatch.delenv(name)
    for name, value in service.get("environment", {}).items():
        if name.startswith("SAKSFLYT_") and name not in NOT_SETTINGS:
            monkeypatch.setenv(name, interpolate(str(value)))
    return Settings(_env_file=None)


def test_every_service_environment_makes_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    services = saksflyt_services(compose())
    assert {"worker", "intake", "codec-server", "schedules"} <= set(services)
    for service in services.values():
        settings = service_settings(service, monkeypatch)
        assert not settings.temporal_on_loopback  # so the dev keys are refused: secrets needed
    intake = service_settings(services["intake"], monkeypatch)
    assert intake.intake_host == "0.0.0.0"
    codec = service_settings(services["codec-server"], monkeypatch)
    assert "http://localhost:8080" in codec.codec_origins


def test_a_bad_value_in_a_service_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    service = {"environment": {"SAKSFLYT_INTAKE_PORT": "eighty"}}
    with pytest.raises(ValueError, match="intake_port"):
        service_settings(service, monkeypatch)


def test_every_saksflyt_secret_is_a_setting_read_from_the_secrets_dir() -> None:
    spec = compose()
    declared = set(spec["secrets"])
    secret_fields = {name.removeprefix("saksflyt_") for name in declared if "saksflyt_" in name}
    assert secret_fields <= set(Settings.model_fields)
    assert {"codec_keys", "pseudonym_key", "webhook_secret"} <= secret_fields
    for name, source in spec["secrets"].items():
        assert source["file"] == f"./secrets/{name}"  # docker/secrets/, which git ignores
    for name, service in saksflyt_services(spec).items():
        used = service.get("secrets", [])
        assert set(used) <= declared, name
        assert all(isinstance(secret, str) for secret in used), f"{name}: mounted by name"
        if used:
            assert service["environment"]["SAKSFLYT_SECRETS_DIR"] == "/run/secrets", name
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "docker/secrets/saksflyt_codec_keys"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0, "docker/secrets/ must be git-ignored"


def test_no_secret_value_is_written_in_the_compose_file_or_the_image() -> None:
    secret_fields = {
        f"SAKSFLYT_{name.upper()}"
        for name, field in Settings.model_fields.items()
        if "Secret" in str(field.annotation) or name == "codec_keys"
    }
    assert "SAKSFLYT_WEBHOOK_SECRET" in secret_fields
    for path in (COMPOSE, DOCKERFILE):
        assert not secret_fields & set(VARIABLE.findall(path.read_text())), path.name
    for name, service in compose()["services"].items():
        for variable, value in service.get("environment", {}).items():
            # saksflyt's own are held to the settings' types above; these are the others'
            if not variable.startswith("SAKSFLYT_") and re.search(
                r"(PASSWORD|PWD|TOKEN|SECRET|_KEY)S?$", variable
            ):
                assert value in ("true", "false"), f"{name}: {variable} holds a value"


# -- (c) every command the stack runs is a `saksflyt` command --------------------------------------


def cli_error(argv: list[str]) -> str | None:
    """None when `saksflyt ARGV` parses, else click's complaint; no command is run."""
    command = typer.main.get_command(cli.app)
    _parse_only(command)
    try:
        command.main(argv, "saksflyt", standalone_mode=False)
    except click.ClickException as error:
        return error.format_message()
    return None


def _parse_only(command: click.Command) -> None:
    command.callback = None  # click runs nothing for a command without one
    for sub in getattr(command, "commands", {}).values():
        _parse_only(sub)


def dockerfile_instruction(name: str) -> list[str]:
    """The JSON form of an instruction, e.g. ENTRYPOINT ["saksflyt"]."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    match = re.search(rf"^{name}\b.*?(\[.*\])\s*$", text, re.MULTILINE)
    assert match, name
    parsed: list[str] = json.loads(match.group(1))
    return parsed


def test_every_command_in_the_compose_file_is_a_saksflyt_command() -> None:
    assert dockerfile_instruction("ENTRYPOINT") == ["saksflyt"]
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'saksflyt = "workers.cli:main"' in pyproject
    healthcheck = dockerfile_instruction("HEALTHCHECK")
    assert healthcheck[0] == "saksflyt" and cli_error(healthcheck[1:]) is None
    services = saksflyt_services(compose())
    for name, service in services.items():
        command = service["command"]
        assert isinstance(command, list), f"{name}: exec form, so ENTRYPOINT saksflyt takes it"
        assert cli_error(command) is None, f"{name}: saksflyt {command}: {cli_error(command)}"
        test = service.get("healthcheck", {}).get("test")
        if test:
            assert test[:2] == ["CMD", "saksflyt"], name
            assert cli_error(test[2:]) is None, name
    commands = {service["command"][0] for service in services.values()}
    assert {"worker", "intake", "codec-server", "schedules", "simulator"} <= commands


def test_a_command_the_cli_lacks_is_found() -> None:
    assert cli_error(["worker"]) is None
    assert cli_error(["workers"]) is not None
    assert cli_error(["quarantine", "list", "--all"]) is not None


# -- (d) hadolint and shellcheck -----------------------------------------------------------------


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HADOLINT, str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=path.parent,
    )


def test_the_dockerfile_passes_hadolint() -> None:
    result = hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_careless_dockerfile(tmp_path: Path) -> None:
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python:latest\nRUN pip install saksflyt\nUSER root\n")
    result = hadolint(careless)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # latest


def test_the_image_is_multi_stage_pinned_and_unprivileged() -> None:
    text = DOCKERFILE.read_text()
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) >= 2
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert base and re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base.group(1))
    users = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert "requirements.lock" in text and "COPY --from=build" in text


def test_the_shell_scripts_pass_shellcheck(tmp_path: Path) -> None:
    scripts = sorted([*DOCKER.glob("*.sh"), *DOCKER.glob("temporal/*.sh")])
    assert len(scripts) >= 3
    run = [str(BIN / "shellcheck"), "--shell=sh", "--severity=style"]
    result = subprocess.run([*run, *map(str, scripts)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
    careless = tmp_path / "careless.sh"
    careless.write_text("#!/bin/sh\nfor f in $(ls $1); do echo $f; done\n")
    assert subprocess.run([*run, str(careless)], capture_output=True, check=False).returncode


# -- (e) secrets from files ------------------------------------------------------------------------


def test_settings_read_secret_files_named_after_their_fields(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [name for name in os.environ if name.startswith("SAKSFLYT_")]:
        monkeypatch.delenv(name)
    (tmp_path / "saksflyt_webhook_secret").write_text("from-a-file\n")
    (tmp_path / "SAKSFLYT_PSEUDONYM_KEY").write_text("upper-case-name")  # any case
    (tmp_path / "saksflyt_codec_keys").write_text('{"k1": "' + "A" * 43 + '="}')
    (tmp_path / "saksflyt_codec_server_tokens").write_text('["t1", "t2"]')
    (tmp_path / "webhook_secret").write_text("no prefix: not read")
    settings = Settings(_env_file=None, _secrets_dir=tmp_path)
    assert settings.webhook_secret.get_secret_value() == "from-a-file"
    assert settings.pseudonym_key.get_secret_value() == "upper-case-name"
    assert set(settings.codec_keys) == {"k1"}
    assert [token.get_secret_value() for token in settings.codec_server_tokens] == ["t1", "t2"]
    monkeypatch.setenv("SAKSFLYT_WEBHOOK_SECRET", "from-the-environment")
    assert Settings(_env_file=None, _secrets_dir=tmp_path).webhook_secret.get_secret_value() == (
        "from-the-environment"
    )
    assert Settings(_env_file=None).pseudonym_key.get_secret_value() != "upper-case-name"


def read_in_a_process(environment: dict[str, str], expression: str) -> str:
    """`expression` over a fresh process's Settings(): model_config is read at import."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAKSFLYT_")} | environment
    code = "from workers.settings import Settings\ns = Settings(_env_file=None)\n"
    code += f"print({expression})"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_saksflyt_secrets_dir_names_the_folder(tmp_path: Path) -> None:
    (tmp_path / "saksflyt_webhook_secret").write_text("from-a-file")
    secret = "s.webhook_secret.get_secret_value()"
    assert read_in_a_process({"SAKSFLYT_SECRETS_DIR": str(tmp_path)}, secret) == "from-a-file"
    assert read_in_a_process({}, secret) == "dev-webhook-secret"


def test_the_dev_secrets_script_makes_every_secret_the_stack_reads(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    subprocess.run(["sh", str(DOCKER / "dev-secrets.sh"), str(folder)], check=True, text=True)
    assert {path.name for path in folder.iterdir()} == set(compose()["secrets"])
    before = (folder / "saksflyt_codec_keys").read_text()
    subprocess.run(["sh", str(DOCKER / "dev-secrets.sh"), str(folder)], check=True)
    assert (folder / "saksflyt_codec_keys").read_text() == before  # kept, never replaced
    settings = Settings(
        _env_file=None,
        _secrets_dir=folder,
        temporal_address="temporal:7233",
        codec_active_key="local-1",
    )
    assert len(settings.codec_keys_for_use()["local-1"]) == 32  # not the dev key, so allowed
    assert settings.pseudonym_key_for_use()
    assert len(settings.codec_server_tokens) == 1


# -- the stack's parts name each other rightly -----------------------------------------------------


def test_the_setup_job_registers_every_search_attribute() -> None:
    from workers.dev import _cli_type
    from workflows import search_attributes

    job = compose()["services"]["temporal-setup"]
    registered = dict(item.split("=") for item in job["environment"]["SEARCH_ATTRIBUTES"].split())
    assert registered == {key.name: _cli_type(key) for key in search_attributes.ALL}
    assert job["command"] == ["/scripts/setup-namespace.sh"]
    assert (DOCKER / "temporal" / "setup-namespace.sh").exists()


def test_prometheus_and_the_proxy_reach_what_the_services_serve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = compose()
    services = spec["services"]
    worker = service_settings(services["worker"], monkeypatch)
    intake = service_settings(services["intake"], monkeypatch)
    codec = service_settings(services["codec-server"], monkeypatch)
    serves = {
        "worker": worker.metrics_address.rsplit(":", 1)[1],
        "intake": str(intake.intake_port),
        "codec-server": str(codec.codec_server_port),
        "temporal": services["temporal"]["environment"]["PROMETHEUS_ENDPOINT"].rsplit(":")[1],
    }
    prometheus = yaml.safe_load((DOCKER / "prometheus.yml").read_text())
    targets: list[tuple[str, str]] = []
    for job in prometheus["scrape_configs"]:
        for static in job.get("static_configs", []):
            targets += [tuple(target.split(":")) for target in static["targets"]]  # type: ignore[misc]
        for dns in job.get("dns_sd_configs", []):
            targets += [(name, str(dns["port"])) for name in dns["names"]]
    assert {host for host, _ in targets} == {"worker", "intake", "temporal"}
    caddyfile = (DOCKER / "Caddyfile").read_text()
    upstreams = re.findall(r"reverse_proxy (\S+):(\d+)", caddyfile)
    assert {host for host, _ in upstreams} == {"intake", "codec-server"}
    for host, port in [*targets, *upstreams]:
        assert serves[host] == port, f"{host}:{port}"
    ui = services["temporal-ui"]["environment"]["TEMPORAL_CODEC_ENDPOINT"]
    assert interpolate(ui) == "https://localhost:8443/codec"
    assert "handle_path /codec/*" in caddyfile
    assert "8443:443" in services["proxy"]["ports"]
    # the intake's httptools parser caps no header size: the proxy in front of it does
    assert re.search(r"servers \{[^}]*max_header_size 16KB", caddyfile)


# -- the image's probe ----------------------------------------------------------------------------


@contextlib.contextmanager
def answering(status: int) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/healthz"
    finally:
        server.shutdown()
        server.server_close()


def test_the_healthcheck_command(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(_env_file=None)

    def probe(url: str | None) -> int:
        return cli.run(["healthcheck", url] if url else ["healthcheck"], settings)

    monkeypatch.delenv("HEALTHCHECK_URL", raising=False)
    assert probe(None) == 0  # a one-shot command: nothing to probe
    with answering(200) as url:
        assert probe(url) == 0
        monkeypatch.setenv("HEALTHCHECK_URL", url)
        assert probe(None) == 0
    with answering(503) as url:
        assert probe(url) == 1
        monkeypatch.setenv("HEALTHCHECK_URL", url)
        assert probe(None) == 1
    assert probe(url) == 1  # nobody listens any more


def test_the_tools_are_installed() -> None:
    for tool in ("hadolint", "shellcheck"):
        assert (BIN / tool).exists() or shutil.which(tool), f"{tool}: make install"
