"""The container recipes (Dockerfile, compose.yml, deploy/): no container engine runs here, so what can be checked
is: every command, setting, port and path they name is one wa-bot has, and the wheel the Dockerfile installs runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from conftest import ROOT, Person, clean_env, free_port

from bot.settings import Settings

STOP_SECONDS = 20  # the bot stops within 20 s of SIGTERM (README): an orchestrator must wait longer
KUBERNETES = ROOT / "deploy" / "kubernetes"
SETTINGS = {name.upper() for name in Settings.model_fields}
PORT = Settings.model_fields["port"].default


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of each instruction, continuation lines joined, comments left out."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def instructions(name: str) -> list[str]:
    return [arguments for instruction, arguments in dockerfile() if instruction == name]


def healthcheck_command() -> list[str]:
    [healthcheck] = instructions("HEALTHCHECK")
    command: list[str] = json.loads(healthcheck.split(" CMD ", 1)[1])
    return command


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yml").read_text())
    return loaded


def kubernetes(kind: str) -> list[dict[str, Any]]:
    """Every object of `kind` under deploy/kubernetes/."""
    return [
        document
        for path in sorted(KUBERNETES.glob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text())
        if document and document.get("kind") == kind
    ]


def container() -> dict[str, Any]:
    [deployment] = kubernetes("Deployment")
    [bot] = deployment["spec"]["template"]["spec"]["containers"]
    assert isinstance(bot, dict)
    return bot


def nginx() -> str:
    return (ROOT / "deploy" / "compose" / "nginx.conf").read_text()


def cli_commands() -> set[str]:
    """The commands `wa-bot --help` lists."""
    shown = subprocess.run(
        [sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, env=clean_env(), timeout=30
    )
    assert shown.returncode == 0, shown.stderr
    [listed] = re.findall(r"\{([a-z,-]+)\}", shown.stdout)[:1]
    return set(listed.split(","))


def test_the_recipes_run_only_commands_wa_bot_has() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    [entrypoint] = instructions("ENTRYPOINT")
    [cmd] = instructions("CMD")
    assert json.loads(entrypoint) == ["wa-bot"] and "wa-bot" in scripts

    commands = cli_commands()
    named = [json.loads(cmd), compose()["services"]["wa-bot"]["command"], container()["args"]]
    for arguments in named:
        assert arguments[0] in commands, (arguments, commands)


def test_the_recipes_set_only_settings_wa_bot_reads() -> None:
    named = {
        "Dockerfile": {
            word.split("=")[0]
            for arguments in instructions("ENV")
            for word in arguments.split()
            if not word.startswith("PYTHON")  # the interpreter's, not wa-bot's
        },
        "compose.yml": set(compose()["services"]["wa-bot"]["environment"]),
        "deployment.yaml": {variable["name"] for variable in container()["env"]},
        "secret.template.yaml": {key for secret in kubernetes("Secret") for key in secret["stringData"]},
    }
    for recipe, names in named.items():
        assert names <= SETTINGS, (recipe, names - SETTINGS)
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "DATABASE_URL"} <= named["secret.template.yaml"]
    # compose.yml reads the settings from .env, which the README has people copy from .env.example.
    assert compose()["services"]["wa-bot"]["env_file"] == ".env" and (ROOT / ".env.example").is_file()


def test_the_recipes_reach_the_port_wa_bot_listens_on() -> None:
    [expose] = instructions("EXPOSE")
    [healthcheck_default] = re.findall(r"get\('PORT', '(\d+)'\)", healthcheck_command()[-1])
    upstreams = {int(port) for port in re.findall(r"http://wa-bot:(\d+)", nginx())}
    bot = container()
    set_in_deployment = [v["value"] for v in bot["env"] if v["name"] == "PORT"]
    [container_port] = [port["containerPort"] for port in bot["ports"]]
    assert {int(expose), int(healthcheck_default), *upstreams, container_port} == {PORT}
    assert set_in_deployment in ([], [str(PORT)])
    assert "PORT" not in compose()["services"]["wa-bot"]["environment"]
    # The one published port is nginx's.
    [published] = compose()["services"]["front"]["ports"]
    [listen] = re.findall(r"listen (\d+);", nginx())
    assert published.split(":")[1] == listen


def named_paths() -> tuple[set[str], set[str]]:
    """(probes, Slack's door): the paths the recipes probe, and those they expose."""
    probes = {re.findall(r"/[a-z]+", healthcheck_command()[-1].split("+ '")[-1])[0]}
    bot = container()
    probes |= {bot[probe]["httpGet"]["path"] for probe in ("startupProbe", "readinessProbe", "livenessProbe")}
    exposed = set(re.findall(r"location = (\S+)", nginx()))
    exposed |= {
        path["path"]
        for ingress in kubernetes("Ingress")
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    return probes, exposed


async def test_the_paths_the_recipes_name_are_served(person: Person) -> None:
    probes, exposed = named_paths()
    assert probes == {"/healthz", "/metrics"} and exposed == {"/slack/events"}
    base = person.url.removesuffix("/slack/events")
    async with aiohttp.ClientSession() as session:
        for path in probes:
            async with session.get(base + path) as response:
                assert response.status == 200, path
        for path in exposed:  # Slack's door: an unsigned POST is refused there, not missing
            async with session.post(base + path, data="command=%2Fwa-add") as response:
                assert response.status == 401, path


async def test_the_healthcheck_passes_on_a_serving_bot_and_fails_on_none(person: Person) -> None:
    port = person.url.split(":")[2].split("/")[0]
    command = [sys.executable if word == "python" else word for word in healthcheck_command()]

    async def healthcheck(port: str) -> int:
        process = await asyncio.create_subprocess_exec(
            *command, env={**os.environ, "PORT": port}, stderr=asyncio.subprocess.DEVNULL
        )
        return await asyncio.wait_for(process.wait(), timeout=10)

    assert await healthcheck(port) == 0
    assert await healthcheck(str(free_port())) != 0


def test_orchestrators_wait_longer_than_the_bot_takes_to_stop() -> None:
    [deployment] = kubernetes("Deployment")
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > STOP_SECONDS
    assert int(compose()["services"]["wa-bot"]["stop_grace_period"].removesuffix("s")) > STOP_SECONDS
    assert container()["securityContext"]["allowPrivilegeEscalation"] is False
    assert [arguments for arguments in instructions("USER")] == ["wa-bot"]  # not root


def test_kubectl_apply_k_never_applies_the_secret_template() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    assert "secret.template.yaml" not in kustomization["resources"]
    for resource in kustomization["resources"]:
        assert (KUBERNETES / resource).is_file()


# --- the wheel the Dockerfile installs ---


def build_stage_sources() -> list[str]:
    """What the Dockerfile's build stage copies into the image to build the wheel from."""
    build = instructions("COPY")
    return [source for arguments in build if "--from" not in arguments for source in arguments.split()[:-1]]


def test_the_dockerignore_lets_the_build_stage_sources_through() -> None:
    allowed = {
        line.removeprefix("!").rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
    }
    for source in build_stage_sources():
        assert source in allowed, source
    assert ".env" not in allowed


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """wa-bot's wheel, built as the Dockerfile builds it: from only what its build stage copies."""
    source = tmp_path_factory.mktemp("source")
    for name in build_stage_sources():
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, source / name)
    out = tmp_path_factory.mktemp("wheels")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = out.glob("wa_bot-*.whl")
    return wheel


def test_the_wheel_carries_the_migrations_and_the_licence(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "bot/store/migrations/script.py.mako" in names and "bot/store/migrations/env.py" in names
    assert {
        f"bot/store/migrations/versions/{path.name}"
        for path in (ROOT / "bot/store/migrations/versions").glob("0*.py")
    } <= set(names)
    assert any(name.endswith("LICENSE") for name in names)


def test_an_installed_wheel_runs_the_demo_from_another_directory(wheel: Path, tmp_path: Path) -> None:
    # A venv of its own, with the test environment's packages as its dependencies (nothing downloaded), but
    # not its editable wa-bot: a .pth line adds a directory to sys.path without running the .pth files in it.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    site_packages = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site_packages / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed", str(wheel)],
        check=True,
        timeout=120,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in clean_env().items() if k != "PYTHONPATH"}

    where = subprocess.run(
        [python, "-c", "import bot; print(bot.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    demo = subprocess.run(
        [venv / "bin" / "wa-bot", "demo"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60
    )

    assert Path(where.stdout.strip()).is_relative_to(site_packages), where.stdout + where.stderr
    assert demo.returncode == 0, demo.stderr
    assert "SANDBOX" in demo.stdout
    assert list(elsewhere.iterdir()) == []  # the demo leaves nothing behind
