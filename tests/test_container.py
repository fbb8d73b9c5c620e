"""The container files agree with the code and the docs. No Docker daemon is needed.

``Dockerfile``, ``compose.yaml``, ``.dockerignore`` and ``docker/`` are read as text and
checked against what they name: paths in the checkout, the ``topmatch`` console script and
its ``serve`` command, the ``/healthz`` route, the settings behind every ``TOPMATCH_*``
variable, and what docs/operations.md tells an operator to run. Building the image and
running the compose file are not tested here (see docs/operations.md, "Running in
containers"); ``docker/bootstrap.sh`` is run for real, against temporary folders.
"""

from __future__ import annotations

import fnmatch
import importlib
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from topmatch.cli import main
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
DOCKERIGNORE = ROOT / ".dockerignore"
OPERATIONS = ROOT / "docs" / "operations.md"
BOOTSTRAP = ROOT / "docker" / "bootstrap.sh"

NODE_UID = "10001"


# --- Dockerfile ------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    name: str  # upper case: FROM, COPY, ...
    args: str
    line: int


def dockerfile() -> list[Instruction]:
    """The instructions, with continuation lines joined and comments dropped."""
    instructions: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(DOCKERFILE.read_text().splitlines(), 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue  # also inside a continuation, as Docker does
        start = start or number
        if text.endswith("\\"):
            pending += text[:-1].strip() + " "
            continue
        name, _, args = (pending + text).partition(" ")
        instructions.append(Instruction(name.upper(), args.strip(), start))
        pending, start = "", 0
    assert not pending, "Dockerfile ends inside a continuation line"
    return instructions


def stages() -> list[list[Instruction]]:
    result: list[list[Instruction]] = []
    for instruction in dockerfile():
        if instruction.name == "FROM":
            result.append([])
        assert result, f"line {instruction.line}: {instruction.name} before the first FROM"
        result[-1].append(instruction)
    return result


def final_stage(name: str) -> list[Instruction]:
    return [i for i in stages()[-1] if i.name == name]


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"not the JSON (exec) form: {args}"
    assert all(isinstance(v, str) for v in value)
    return value


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in final_stage("ENV"):
        for pair in shlex.split(instruction.args):
            key, sep, value = pair.partition("=")
            assert sep, f"line {instruction.line}: write ENV as KEY=value, not {pair!r}"
            env[key] = value
    return env


def image_argv() -> list[str]:
    (entrypoint,) = final_stage("ENTRYPOINT")
    (cmd,) = final_stage("CMD")
    return exec_form(entrypoint.args) + exec_form(cmd.args)


def healthcheck_argv() -> list[str]:
    (check,) = final_stage("HEALTHCHECK")
    _, sep, command = check.args.partition("CMD ")
    assert sep, f"HEALTHCHECK without CMD: {check.args}"
    return exec_form(command)


def test_two_stages_on_one_pinned_slim_python_that_the_project_supports() -> None:
    bases = [shlex.split(stage[0].args)[0] for stage in stages()]
    assert len(bases) >= 2, "the build stage and the runtime stage"
    assert len(set(bases)) == 1, f"both stages on the same base, got {bases}"
    match = re.fullmatch(r"python:(\d+)\.(\d+)(?:\.\d+)?-slim-([a-z]+)", bases[0])
    assert match, f"a pinned slim Python tag like python:3.11-slim-bookworm, got {bases[0]}"
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    minimum = re.fullmatch(r">=(\d+)\.(\d+)", requires)
    assert minimum, f"unexpected requires-python {requires}"
    version = (int(match[1]), int(match[2]))
    assert version >= (int(minimum[1]), int(minimum[2]))


def test_the_build_stage_makes_wheels_and_the_image_installs_only_those() -> None:
    build, runtime = stages()[0], stages()[-1]
    assert any("pip wheel" in i.args and "/wheels" in i.args for i in build if i.name == "RUN")
    installs = [i.args for i in runtime if i.name == "RUN" and "pip install" in i.args]
    assert installs, "the runtime stage installs the wheels"
    for args in installs:
        assert "--no-index" in args, "the runtime stage must not reach the package index"
        assert "--find-links /wheels" in args


def test_every_copy_source_exists_and_is_in_the_build_context() -> None:
    rules = dockerignore_rules()
    copied = 0
    for instruction in dockerfile():
        if instruction.name not in {"COPY", "ADD"}:
            continue
        words = shlex.split(instruction.args)
        if any(w.startswith("--from") for w in words):
            continue  # from another stage, not from the checkout
        sources = [w for w in words if not w.startswith("--")][:-1]
        assert sources, f"line {instruction.line}: COPY without a source"
        for source in sources:
            path = ROOT / source
            assert path.exists(), f"line {instruction.line}: COPY source {source} does not exist"
            files = [path] if path.is_file() else sorted(path.rglob("*"))
            for file in (f for f in files if f.is_file() and "__pycache__" not in f.parts):
                relative = file.relative_to(ROOT).as_posix()
                assert not ignored(relative, rules), f"{relative} is left out by .dockerignore"
                copied += 1
    assert copied > 2


def test_entrypoint_is_the_documented_topmatch_serve() -> None:
    argv = image_argv()
    assert argv == ["topmatch", "serve"]
    assert "topmatch serve" in OPERATIONS.read_text()
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, function = scripts[argv[0]].partition(":")
    assert callable(getattr(importlib.import_module(module), function))


def test_the_cli_has_the_serve_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    assert "--host" in capsys.readouterr().out


def test_image_settings_are_real_settings_and_the_data_dir_is_the_volume() -> None:
    env = image_env()
    assert_real_settings(env)
    volumes = [
        exec_form(i.args) if i.args.startswith("[") else i.args.split()
        for i in final_stage("VOLUME")
    ]
    assert [env["TOPMATCH_DATA_DIR"]] in volumes
    assert env["TOPMATCH_PEERS_DIR"].startswith(env["TOPMATCH_DATA_DIR"] + "/")
    assert env["TOPMATCH_HOST"] == "0.0.0.0"  # noqa: S104 - inside the container, on purpose
    (expose,) = final_stage("EXPOSE")
    assert expose.args.split() == [env["TOPMATCH_PORT"]]


def test_the_image_runs_as_the_unprivileged_topmatch_user() -> None:
    users = final_stage("USER")
    assert users, "no USER: the node would run as root"
    user = users[-1].args.split(":")[0]
    assert user not in {"root", "0"}
    created = " ".join(i.args for i in final_stage("RUN"))
    assert re.search(rf"useradd\b[^&]*--uid {NODE_UID}\b[^&]*\b{user}\b", created)
    entrypoint = final_stage("ENTRYPOINT")[0]
    assert users[-1].line < entrypoint.line


def test_healthcheck_asks_healthz_which_answers(client: TestClient) -> None:
    argv = healthcheck_argv()
    assert argv[:2] == ["python", "-c"], "no curl in the slim image: Python's urllib"
    compile(argv[2], "<healthcheck>", "exec")
    match = re.search(r"http://127\.0\.0\.1:[^/]+(/[a-z]+)", argv[2])
    assert match, "the health check asks the node itself"
    assert match[1] == "/healthz"
    assert client.get(match[1]).status_code == 200


def test_healthcheck_fails_when_nothing_answers(tmp_path: Path) -> None:
    argv = healthcheck_argv()
    env = {**os.environ, **image_env(), "TOPMATCH_PORT": "9"}  # discard: nothing listens
    result = subprocess.run(
        [sys.executable, *argv[1:]],
        check=False,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        timeout=30,
    )
    assert result.returncode != 0


# --- .dockerignore ---------------------------------------------------------------------


def dockerignore_rules() -> list[tuple[bool, str]]:
    """(include?, pattern) in file order. Docker's rule: the last matching pattern wins."""
    rules = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        include = text.startswith("!")
        rules.append((include, text.lstrip("!").strip("/")))
    return rules


def ignored(path: str, rules: list[tuple[bool, str]]) -> bool:
    """Whether Docker leaves ``path`` out of the build context (a pattern that matches a
    parent folder matches everything in it; ``**/`` also matches no folder at all)."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for include, pattern in rules:
        alternatives = {pattern, pattern.removeprefix("**/")}
        if any(fnmatch.fnmatchcase(p, a) for p in prefixes for a in alternatives):
            result = not include
    return result


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".git/HEAD",
        "topmatch-data/node-key.pem",
        ".topmatch-demo/cardbox.secret",
        "bench/.cache/federation.sqlite",
        "tests/test_container.py",
        "src/topmatch/__pycache__/settings.cpython-311.pyc",
        "docker/bootstrap.sh",
    ],
)
def test_dockerignore_keeps_state_secrets_and_tools_out(path: str) -> None:
    assert ignored(path, dockerignore_rules())


# --- compose.yaml ----------------------------------------------------------------------


class YamlSubsetError(ValueError):
    pass


@dataclass(frozen=True)
class Line:
    indent: int
    text: str
    number: int


def parse_yaml_subset(text: str) -> Any:
    """The YAML that compose.yaml is kept to: block mappings, block lists of scalars, JSON
    style flow lists, quoted or plain scalars, comments. Anything else raises, so that a
    file this cannot read fails the test instead of being misread."""
    lines = []
    for number, raw in enumerate(text.splitlines(), 1):
        body = _without_comment(raw, number).rstrip()
        if body.strip():
            indent = len(body) - len(body.lstrip(" "))
            if body[indent] == "\t":
                raise YamlSubsetError(f"line {number}: tab indentation")
            lines.append(Line(indent, body.strip(), number))
    if not lines:
        return None
    value, end = _block(lines, 0, lines[0].indent)
    if end != len(lines):
        raise YamlSubsetError(f"line {lines[end].number}: unexpected indentation")
    return value


def _without_comment(raw: str, number: int) -> str:
    quote = ""
    for i, char in enumerate(raw):
        if quote:
            if char == quote and raw[i - 1] != "\\":
                quote = ""
        elif char in "\"'" and (i == 0 or raw[i - 1] in " [,:-"):
            quote = char
        elif char == "#" and (i == 0 or raw[i - 1] == " "):
            return raw[:i]
    if quote:
        raise YamlSubsetError(f"line {number}: unclosed quote")
    return raw


def _block(lines: list[Line], i: int, indent: int) -> tuple[Any, int]:
    if lines[i].text == "-" or lines[i].text.startswith("- "):
        return _sequence(lines, i, indent)
    return _mapping(lines, i, indent)


KEY = re.compile(r"([A-Za-z0-9_.-]+):(?: +(.*))?")


def _mapping(lines: list[Line], i: int, indent: int) -> tuple[dict[str, Any], int]:
    result: dict[str, Any] = {}
    while i < len(lines) and lines[i].indent == indent:
        line = lines[i]
        match = KEY.fullmatch(line.text)
        if not match:
            raise YamlSubsetError(f"line {line.number}: expected 'key: value', got {line.text!r}")
        key, rest = match[1], match[2]
        if key in result:
            raise YamlSubsetError(f"line {line.number}: duplicate key {key}")
        i += 1
        if rest:
            result[key] = _scalar(rest, line.number)
        elif i < len(lines) and lines[i].indent > indent:
            result[key], i = _block(lines, i, lines[i].indent)
        else:
            result[key] = None
    if i < len(lines) and lines[i].indent > indent:
        raise YamlSubsetError(f"line {lines[i].number}: unexpected indentation")
    return result, i


def _sequence(lines: list[Line], i: int, indent: int) -> tuple[list[Any], int]:
    result: list[Any] = []
    while i < len(lines) and lines[i].indent == indent and lines[i].text.startswith("- "):
        item = lines[i].text[2:].strip()
        if KEY.fullmatch(item):
            raise YamlSubsetError(f"line {lines[i].number}: lists of mappings are not read")
        result.append(_scalar(item, lines[i].number))
        i += 1
    if i < len(lines) and lines[i].indent > indent:
        raise YamlSubsetError(f"line {lines[i].number}: unexpected indentation")
    return result, i


def _scalar(text: str, number: int) -> Any:
    if text[0] in '[{"':
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise YamlSubsetError(f"line {number}: not a JSON-style value: {text}") from e
    if text[0] == "'":
        if len(text) < 2 or not text.endswith("'"):
            raise YamlSubsetError(f"line {number}: bad single-quoted string {text}")
        return text[1:-1].replace("''", "'")
    if text[0] in "&*!|>%@`" or text == "-":
        raise YamlSubsetError(f"line {number}: YAML feature not read here: {text}")
    if text in {"true", "false"}:
        return text == "true"
    if text in {"null", "~"}:
        return None
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    return text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'a: 1\nb:\n  - x\n  - \'y z\'\nc: ["p", "q"]  # note\nd:\n',
            {"a": 1, "b": ["x", "y z"], "c": ["p", "q"], "d": None},
        ),
        ('a:\n  b:\n    c: true\n  d: "#1"\n', {"a": {"b": {"c": True}, "d": "#1"}}),
        (
            "image: postgres:16\nports:\n  - 127.0.0.1:1:2\n",
            {"image": "postgres:16", "ports": ["127.0.0.1:1:2"]},
        ),
    ],
)
def test_the_yaml_subset_reader(text: str, expected: Any) -> None:
    assert parse_yaml_subset(text) == expected


@pytest.mark.parametrize(
    "text",
    ["x: &anchor 1\n", "x:\n  - a: 1\n", "x: 1\n   y: 2\n", "x: 1\nx: 2\n", "x: |\n  text\n"],
)
def test_the_yaml_subset_reader_refuses_what_it_does_not_read(text: str) -> None:
    with pytest.raises(YamlSubsetError):
        parse_yaml_subset(text)


INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}")


def interpolate(value: str) -> str:
    """Compose's ``${VAR:-default}``, with no VAR set. A bare ``${VAR}`` fails: the file
    must work without a .env file."""

    def default(match: re.Match[str]) -> str:
        assert match[2], f"${{{match[1]}}} has no default"
        return match[3]

    return INTERPOLATION.sub(default, value)


def compose() -> dict[str, Any]:
    parsed = parse_yaml_subset(COMPOSE.read_text())
    assert isinstance(parsed, dict)
    return parsed


def services() -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose()["services"]
    return result


def node_services() -> dict[str, dict[str, Any]]:
    """The Topmatch nodes: services that run the image's ``serve``."""
    return {name: s for name, s in services().items() if s.get("command") == ["serve"]}


def node_env(service: dict[str, Any]) -> dict[str, str]:
    """The environment a node container sees: the image's, then the service's."""
    return {**image_env(), **{k: interpolate(str(v)) for k, v in service["environment"].items()}}


def assert_real_settings(env: dict[str, str]) -> None:
    names = {k for k in env if k.startswith(ENV_PREFIX)}
    fields = {ENV_PREFIX + f.upper() for f in Settings.model_fields}
    assert names <= fields, f"not settings: {sorted(names - fields)}"


def bootstrap_specs() -> list[tuple[str, str, str]]:
    """(node id, public URL, display name) of every node the bootstrap service sets up."""
    specs = []
    for spec in services()["bootstrap"]["command"]:
        node_id, url, name = spec.split(",", 2)
        specs.append((node_id, url, name))
    return specs


def test_compose_has_three_nodes_and_a_postgres_server_with_a_healthcheck() -> None:
    assert len(node_services()) == 3
    postgres = services()["postgres"]
    assert str(postgres["image"]).startswith("postgres:16")
    assert postgres["healthcheck"]["test"][0] in {"CMD", "CMD-SHELL"}


def test_every_image_built_here_comes_from_the_dockerfile() -> None:
    built = {name: s["build"] for name, s in services().items() if "build" in s}
    assert set(node_services()) | {"bootstrap"} <= set(built)
    for name, build in built.items():
        context = ROOT / build.get("context", ".")
        assert (context / build.get("dockerfile", "Dockerfile")).resolve() == DOCKERFILE, name


def test_node_environments_are_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, service in node_services().items():
        env = node_env(service)
        assert_real_settings(env)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = Settings()
        assert settings.node_id == name
        assert str(settings.public_url).rstrip("/") == f"http://{name}:{settings.port}"
        assert (settings.database_url or "").startswith("postgresql+psycopg://")
        assert settings.resolved_key_file() == Path("/data/node-key.pem")  # bootstrap's test


def test_each_node_has_its_own_database_created_by_the_init_script() -> None:
    postgres = services()["postgres"]
    init_sql = [v.split(":")[0] for v in postgres["volumes"] if "docker-entrypoint-initdb.d" in v]
    assert init_sql, "no init script for the nodes' databases"
    created = re.findall(r"CREATE DATABASE (\w+);", (ROOT / init_sql[0]).read_text())
    databases = []
    for service in node_services().values():
        url = node_env(service)["TOPMATCH_DATABASE_URL"]
        match = re.fullmatch(r"postgresql\+psycopg://([^:@]+):([^@]+)@postgres:5432/(\w+)", url)
        assert match, url
        assert match[1] == postgres["environment"]["POSTGRES_USER"]
        assert match[2] == interpolate(postgres["environment"]["POSTGRES_PASSWORD"])
        databases.append(match[3])
    assert sorted(databases) == sorted(set(databases)) == sorted(created)


def test_nodes_publish_their_port_on_loopback_only() -> None:
    host_ports = []
    for service in node_services().values():
        (mapping,) = service["ports"]
        address, host_port, container_port = mapping.split(":")
        assert address == "127.0.0.1"
        assert container_port == node_env(service)["TOPMATCH_PORT"]
        host_ports.append(host_port)
    assert len(set(host_ports)) == len(host_ports)


def test_each_node_keeps_data_in_its_own_named_volume() -> None:
    declared = set(compose()["volumes"])
    seen = []
    for name, service in node_services().items():
        data = [v for v in service["volumes"] if v.split(":")[1] == "/data"]
        assert len(data) == 1, f"{name}: one volume at /data"
        volume = data[0].split(":")[0]
        assert volume in declared, f"{name}: {volume} is not a named volume"
        seen.append(volume)
    assert len(set(seen)) == len(seen), "nodes share a data volume"


def test_bind_mounts_name_files_in_the_checkout() -> None:
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith(("./", "../", "/")):
                assert (ROOT / source).is_file(), f"{name}: {source} does not exist"


def test_nodes_start_only_after_postgres_is_healthy_and_bootstrap_has_run() -> None:
    for name, service in node_services().items():
        depends = service["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["bootstrap"]["condition"] == "service_completed_successfully", name


def test_bootstrap_sets_up_exactly_the_nodes_with_their_urls_and_volumes() -> None:
    bootstrap = services()["bootstrap"]
    script = bootstrap["entrypoint"][-1]
    assert f"./docker/bootstrap.sh:{script}:ro" in bootstrap["volumes"]
    mounted = {v.split(":")[1]: v.split(":")[0] for v in bootstrap["volumes"]}
    nodes = node_services()
    assert sorted(node_id for node_id, _, _ in bootstrap_specs()) == sorted(nodes)
    for node_id, url, _ in bootstrap_specs():
        assert url == node_env(nodes[node_id])["TOPMATCH_PUBLIC_URL"]
        data = next(v for v in nodes[node_id]["volumes"] if v.endswith(":/data"))
        assert mounted[f"/nodes/{node_id}"] == data.split(":")[0]


# --- docker/bootstrap.sh ----------------------------------------------------------------

# Stands in for the CLI (whose start-up takes seconds): logs each call and, for `init`,
# leaves the key and descriptor that the script looks for.
FAKE_TOPMATCH = """#!/bin/sh
IFS=';'  # "$*" joins the arguments with it
echo "$TOPMATCH_DATA_DIR|$TOPMATCH_PEERS_DIR|$*" >> "$CALLS"
if [ "$1" = init ]; then
  mkdir -p "$TOPMATCH_DATA_DIR"
  touch "$TOPMATCH_DATA_DIR/node-key.pem" "$TOPMATCH_DATA_DIR/node.json"
fi
"""


def run_bootstrap(nodes_root: Path, specs: list[tuple[str, str, str]], bin_dir: Path) -> str:
    nodes_root.mkdir(exist_ok=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)},
        "NODES_ROOT": str(nodes_root),
        "NODE_UID": str(os.getuid()),  # when run as root: the files stay the test's own
        "CALLS": str(nodes_root / "calls.log"),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    }
    result = subprocess.run(
        ["sh", str(BOOTSTRAP), *(",".join(spec) for spec in specs)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def fake_cli(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "topmatch").write_text(FAKE_TOPMATCH)
    (bin_dir / "topmatch").chmod(0o755)
    return bin_dir


def calls(root: Path) -> list[tuple[str, str, str]]:
    lines = (root / "calls.log").read_text().splitlines()
    (root / "calls.log").unlink()
    return [(d, p, argv) for d, p, argv in (line.split("|") for line in lines)]


def test_bootstrap_initialises_each_node_once_and_adds_every_other_node(
    tmp_path: Path, fake_cli: Path
) -> None:
    root = tmp_path / "nodes"
    specs = bootstrap_specs()
    run_bootstrap(root, specs, fake_cli)
    first = calls(root)
    for node_id, url, name in specs:
        home = (str(root / node_id), str(root / node_id / "peers"))
        argv = ";".join(["init", "--node-id", node_id, "--name", name, "--url", url])
        assert (*home, argv) in first
        for peer, _, _ in specs:
            if peer != node_id:
                assert (*home, f"peers;add;{root / peer / 'node.json'}") in first
    n = len(specs)
    assert len(first) == n + n * (n - 1)

    again = run_bootstrap(root, specs, fake_cli)
    assert not [c for c in calls(root) if c[2].startswith("init")]
    assert all(f"{node_id}: already initialised" in again for node_id, _, _ in specs)


@pytest.mark.parametrize(
    "argv",
    [["werkpad,http://werkpad:8000,Werkpad"], ["werkpad,Werkpad", "b,http://b:8000,B"]],
)
def test_bootstrap_refuses_bad_arguments(tmp_path: Path, fake_cli: Path, argv: list[str]) -> None:
    result = subprocess.run(
        ["sh", str(BOOTSTRAP), *argv],
        check=False,
        env={**os.environ, "NODES_ROOT": str(tmp_path), "PATH": f"{fake_cli}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert not (tmp_path / "calls.log").exists()


@pytest.mark.slow
def test_bootstrap_with_the_real_cli_federates_the_nodes(tmp_path: Path) -> None:
    """The real `topmatch init` and `peers add`, for two of the compose nodes."""
    specs = bootstrap_specs()[:2]
    root = tmp_path / "nodes"
    run_bootstrap(root, specs, Path(sys.executable).parent)
    (own_id, own_url, own_name), (peer_id, _, _) = specs
    own = PeerDescriptor.model_validate_json((root / own_id / "node.json").read_text())
    assert (own.node_id, str(own.base_url).rstrip("/"), own.name) == (own_id, own_url, own_name)
    assert tomllib.loads((root / own_id / "topmatch.toml").read_text())["public_url"] == own_url
    assert ((root / own_id / "node-key.pem").stat().st_mode & 0o077) == 0
    held = PeerDescriptor.model_validate_json(
        (root / own_id / "peers" / f"{peer_id}.json").read_text()
    )
    original = PeerDescriptor.model_validate_json((root / peer_id / "node.json").read_text())
    assert held.keys == original.keys
    assert [p.name for p in (root / own_id / "peers").iterdir()] == [f"{peer_id}.json"]


# --- docker/serve-workers.sh -----------------------------------------------------------

SERVE_WORKERS = ROOT / "docker" / "serve-workers.sh"

FAKE_TOOL = """#!/bin/sh
IFS=';'
echo "$(basename "$0");$*" >> "$CALLS"
[ "$*" != "db;upgrade" ] || [ -z "${FAIL_UPGRADE:-}" ] || exit 1
"""


def run_serve_workers(tmp_path: Path, **env: str) -> tuple[int, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("topmatch", "uvicorn"):
        (bin_dir / tool).write_text(FAKE_TOOL)
        (bin_dir / tool).chmod(0o755)
    result = subprocess.run(
        ["sh", str(SERVE_WORKERS), "--proxy-headers"],
        check=False,
        env={
            **os.environ,
            **env,
            "CALLS": str(tmp_path / "calls.log"),
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    log = tmp_path / "calls.log"
    return result.returncode, log.read_text().splitlines() if log.exists() else []


def test_the_workers_entry_point_is_in_the_image() -> None:
    copies = [shlex.split(i.args) for i in final_stage("COPY")]
    assert [
        "--chmod=0755",
        "docker/serve-workers.sh",
        "/usr/local/bin/topmatch-serve-workers",
    ] in copies
    assert "topmatch-serve-workers" in OPERATIONS.read_text()


def test_workers_start_after_one_migration_with_a_clean_metrics_folder(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_123.db").write_bytes(b"stale")
    code, log = run_serve_workers(
        tmp_path,
        WEB_CONCURRENCY="3",
        TOPMATCH_HOST="0.0.0.0",  # noqa: S104 - as in the image
        TOPMATCH_PORT="8123",
        PROMETHEUS_MULTIPROC_DIR=str(metrics),
    )
    assert code == 0
    factory = "topmatch.app:app_from_env"
    assert log == [
        "topmatch;db;upgrade",
        f"uvicorn;--factory;{factory};--host;0.0.0.0;--port;8123;--workers;3;--proxy-headers",
    ]
    assert list(metrics.iterdir()) == []
    module, _, attribute = factory.partition(":")
    assert callable(getattr(importlib.import_module(module), attribute))


def test_workers_do_not_start_when_the_migration_fails(tmp_path: Path) -> None:
    code, log = run_serve_workers(
        tmp_path, FAIL_UPGRADE="1", PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "m")
    )
    assert code != 0
    assert log == ["topmatch;db;upgrade"]


# --- docs/operations.md ----------------------------------------------------------------


def test_operations_has_the_container_section() -> None:
    text = OPERATIONS.read_text()
    assert "\n## Running in containers\n" in text
    section = text.split("\n## Running in containers\n", 1)[1]
    for needle in ("docker build", "docker compose up", "proxy_pass", "--workers"):
        assert needle in section, needle


def test_every_documented_uvicorn_factory_exists() -> None:
    targets = re.findall(r"uvicorn --factory ([\w.]+):(\w+)", OPERATIONS.read_text())
    assert targets
    for module, attribute in targets:
        assert callable(getattr(importlib.import_module(module), attribute))
