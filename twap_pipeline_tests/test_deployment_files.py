"""docker-compose.yml cannot run here (no Docker engine): check by reading that every
service's command points at files and modules that exist, with the env the code reads."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_services_are_present():
    services = compose()["services"]
    assert {"postgres", "dagster-webserver", "dagster-daemon", "api"} <= set(services)
    for name, service in services.items():
        if "build" in service:
            assert (REPO / service["build"] / "Dockerfile").exists(), name


def test_every_command_refers_to_what_exists():
    for name, service in compose()["services"].items():
        command = service.get("command")
        if command is None:
            continue
        if "-w" in command:
            workspace = REPO / command[command.index("-w") + 1]
            assert workspace.exists(), name
            for entry in yaml.safe_load(workspace.read_text())["load_from"]:
                importlib.import_module(entry["python_module"]["module_name"])
        if command == ["twap", "api"]:
            continue
        if command[0] in {"dagster-webserver", "dagster-daemon"}:
            continue
        if command[:2] == ["sh", "-c"]:
            assert command[2] == "twap db upgrade && dagster instance migrate", name
            continue
        raise AssertionError(f"{name}: unknown command {command}")


def test_migrations_run_once_before_every_other_service():
    services = compose()["services"]
    for name in ("dagster-webserver", "dagster-daemon", "api"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }, name


def test_services_share_the_documented_environment():
    services = compose()["services"]
    documented = (REPO / ".env.example").read_text()
    for name in ("dagster-webserver", "dagster-daemon", "api"):
        env = services[name]["environment"]
        assert "DATABASE_URL" in env, name
        for variable in env:
            if variable.startswith(("AWS_ACCESS", "AWS_SECRET", "DAGSTER_PG", "TWAP_", "AWS_")):
                assert variable in documented or variable.startswith("AWS_SECRET"), variable
    assert services["dagster-daemon"]["environment"]["DAGSTER_PG_URL"].startswith(
        "postgresql+psycopg2://"
    )


def api_environment_names() -> set[str]:
    """Every variable the API's settings read."""
    from twap_api.settings import ServerSettings, Settings

    names = set()
    for model in (Settings, ServerSettings):
        prefix = model.model_config.get("env_prefix", "")
        for field_name, field in model.model_fields.items():
            alias = field.validation_alias
            names.add(alias if isinstance(alias, str) else f"{prefix}{field_name}".upper())
    return names


def test_every_api_setting_is_documented():
    readme = (REPO / "README.md").read_text()
    example = (REPO / ".env.example").read_text()
    for name in api_environment_names():
        assert f"`{name}`" in readme or f"`{name}`," in readme, name
        assert f"{name}=" in example, name


def test_every_long_running_service_has_a_healthcheck():
    for name, service in compose()["services"].items():
        if name != "migrate":
            assert "healthcheck" in service, name
