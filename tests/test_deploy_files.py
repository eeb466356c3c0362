"""The deployment files (deploy/) parse, and agree with the code and with each other.

No Docker engine or cluster is needed (none exists where they were written): these
checks read the files. They catch a misspelt environment variable, a balancer whose
--backend list no longer matches the replicas, pools that outgrow PostgreSQL's
max_connections, a command naming a module or option that does not exist, and a
Dockerfile that forgets a package.
"""

import importlib.util
import re
import shlex
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple
from urllib.parse import urlparse

import pytest
import yaml

from bot.settings import DEFAULTS, ROOT

DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = DEPLOY / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
ENV_EXAMPLE = DEPLOY / "production.env.example"
SECRET_TEMPLATE = K8S / "secret.example.yaml"
NAMESPACE = "kyr-bot"

# Variables the project reads that bot.settings.DEFAULTS does not list, each with the
# file that reads it (checked below, so this list cannot drift from the code).
EXTRA_VARIABLES = {
    "DATABASE_URL": "storage/organizer_db.py",
    "TWILIO_AUTH_TOKEN": "credentials.yml",
    "KYR_SENDER_HMAC_KEY": "credentials.yml",
    "KYR_UNANSWERED_RETENTION_DAYS": "storage/unanswered.py",
    "KYR_KEEP_UNANSWERED": "actions/usage.py",
    "KYR_KB_DIR": "bot/kb/loader.py",
    "KYR_KB_REFRESH_SECONDS": "storage/kb_versions.py",
    "KYR_PAST_REVIEW": "bot/dialogue.py",
    "KYR_ORGANIZER_IDLE_MINUTES": "organizer/auth/sessions.py",
    "KYR_ORGANIZER_MAX_HOURS": "organizer/auth/sessions.py",
}
# Read by libpq inside psycopg2 (checked in its shared library).
LIBPQ_VARIABLES = {"PGSSLMODE"}
# Python's and pip's own, allowed in the Dockerfile only.
IMAGE_ONLY_VARIABLES = {
    "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONPATH", "PIP_NO_CACHE_DIR",
    "PIP_DISABLE_PIP_VERSION_CHECK", "TF_CPP_MIN_LOG_LEVEL",
}
ALLOWED_VARIABLES = set(DEFAULTS) | set(EXTRA_VARIABLES) | LIBPQ_VARIABLES
SECRETS = {"TWILIO_AUTH_TOKEN", "KYR_SENDER_HMAC_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD", "KYR_METRICS_TOKEN", "DATABASE_URL"}
# Superuser connections PostgreSQL keeps back from max_connections (its default).
SUPERUSER_RESERVED = 3
# Connections one `kyr retention` run holds at most: one statement at a time on the
# tracker store, then on the organizers' database.
RETENTION_CONNECTIONS = 2


# --- reading the files ------------------------------------------------------------------


def _yaml_files() -> List[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yml", ".yaml"))


@lru_cache(maxsize=None)
def _compose() -> Dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _services() -> Dict[str, Dict[str, Any]]:
    return _compose()["services"]


@lru_cache(maxsize=None)
def _k8s_docs() -> Tuple[Dict[str, Any], ...]:
    docs: List[Dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return tuple(docs)


def _k8s(kind: str, name: Optional[str] = None) -> List[Dict[str, Any]]:
    return [d for d in _k8s_docs() if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def _one(kind: str, name: str) -> Dict[str, Any]:
    found = _k8s(kind, name)
    assert len(found) == 1, f"expected one {kind} {name!r} in deploy/k8s/, found {len(found)}"
    return found[0]


def _pod_spec(workload: Dict[str, Any]) -> Dict[str, Any]:
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return workload["spec"]["template"]["spec"]


def _workloads() -> List[Dict[str, Any]]:
    return [d for d in _k8s_docs() if d["kind"] in ("Deployment", "StatefulSet", "CronJob")]


def _k8s_containers() -> Iterator[Tuple[Dict[str, Any], Dict[str, Any]]]:
    for workload in _workloads():
        spec = _pod_spec(workload)
        for container in spec.get("initContainers", []) + spec["containers"]:
            yield workload, container


def _argv(container: Dict[str, Any]) -> List[str]:
    return [str(a) for a in container.get("command", []) + container.get("args", [])]


def _compose_argv(service: Dict[str, Any]) -> List[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def _env_file(path: Path) -> Dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{path.name}: not KEY=value: {line!r}"
            values[key.strip()] = value
    return values


def _compose_environment(service: Dict[str, Any]) -> Dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _option(argv: List[str], name: str) -> List[str]:
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == name]


def _python_module(argv: List[str]) -> Optional[str]:
    return argv[2] if argv[:2] == ["python", "-m"] else None


def _package_sources(module: str) -> str:
    """The source text of a module's whole top-level package (this repo's or installed)."""
    spec = importlib.util.find_spec(module.split(".")[0])
    assert spec is not None, f"no module {module!r}"
    folders = list(spec.submodule_search_locations or [])
    files = [f for folder in folders for f in Path(folder).rglob("*.py")] if folders else [Path(str(spec.origin))]
    return "\n".join(f.read_text(encoding="utf-8") for f in files)


def _dockerfile_instructions() -> List[Tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions, current = [], ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip():
            keyword, _, rest = current.strip().partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
        current = ""
    return instructions


def _pyproject_packages() -> List[str]:
    """The include list of [tool.setuptools.packages.find] (no tomllib on Python 3.10)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = re.search(r"^\[tool\.setuptools\.packages\.find\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    assert section, "pyproject.toml has no [tool.setuptools.packages.find]"
    include = re.search(r"^include\s*=\s*\[(.*?)\]", section.group(1), re.M | re.S)
    assert include, "no include list in [tool.setuptools.packages.find]"
    patterns = re.findall(r'"([^"]+)"', include.group(1))
    assert patterns
    return [p.rstrip("*").rstrip(".") for p in patterns]


def _kb_pool() -> int:
    """pool_size + max_overflow of the organizers' database engine (storage/organizer_db.py)."""
    source = (ROOT / "storage" / "organizer_db.py").read_text(encoding="utf-8")
    match = re.search(r"pool_size=(\d+),\s*max_overflow=(\d+)", source)
    assert match, "storage/organizer_db.py: no pool_size=..., max_overflow=... found"
    return int(match.group(1)) + int(match.group(2))


def _host_port(url: str) -> Tuple[str, int]:
    parsed = urlparse(url)
    assert parsed.hostname and parsed.port, f"{url!r} has no host and port"
    return parsed.hostname, parsed.port


# --- YAML -------------------------------------------------------------------------------


def test_there_are_the_deployment_files() -> None:
    for path in (DOCKERFILE, COMPOSE, ENV_EXAMPLE, DEPLOY / "README.md", K8S / "kustomization.yaml", SECRET_TEMPLATE):
        assert path.is_file(), f"missing {path.relative_to(ROOT)}"


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_file_parses(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    assert docs, f"{path.name} is empty"
    assert all(isinstance(d, dict) for d in docs)
    if path.parent == K8S and path.name != "kustomization.yaml":
        for doc in docs:
            assert {"apiVersion", "kind", "metadata"} <= set(doc), f"{path.name}: a document without apiVersion/kind/metadata"
            assert doc["metadata"].get("name"), f"{path.name}: a {doc['kind']} without a name"


# --- environment variables --------------------------------------------------------------


def test_the_extra_variables_are_really_read_where_listed() -> None:
    for name, relative in EXTRA_VARIABLES.items():
        assert name in (ROOT / relative).read_text(encoding="utf-8"), f"{name} is not in {relative}"
    spec = importlib.util.find_spec("psycopg2")
    assert spec is not None and spec.origin
    libs = list(Path(spec.origin).parents[1].glob("psycopg2*.libs/libpq*"))
    assert libs, "psycopg2's bundled libpq not found"
    for name in LIBPQ_VARIABLES:
        assert any(name.encode() in lib.read_bytes() for lib in libs), f"libpq does not read {name}"


def test_compose_sets_only_variables_the_project_reads() -> None:
    for name, service in _services().items():
        unknown = set(_compose_environment(service)) - ALLOWED_VARIABLES
        assert not unknown, f"docker-compose.yml, {name}: unknown variable(s) {sorted(unknown)}"
        # Secrets come from the env_file, never written into the compose file.
        assert not set(_compose_environment(service)) & SECRETS, f"{name}: a secret in docker-compose.yml"


def test_the_env_file_example_is_complete_and_known() -> None:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    values = _env_file(ENV_EXAMPLE)
    assert not set(values) - ALLOWED_VARIABLES, f"unknown variable(s): {sorted(set(values) - ALLOWED_VARIABLES)}"
    # Every setting is there, set or (when compose or the image fixes it) named in a comment.
    missing = [key for key in DEFAULTS if not re.search(rf"\b{key}=", text)]
    assert not missing, f"production.env.example does not mention {missing}"
    for secret in SECRETS:
        assert secret in values, f"production.env.example lacks the secret {secret}"
        assert "CHANGE_ME" in values[secret], f"{secret} must be a placeholder in the example"
        assert re.search(rf"^# SECRET.*(\n#.*)*\n{secret}=", text, re.M), f"{secret} is not marked SECRET"
    # Compose's `environment:` silently wins over the env_file: nothing may be set twice.
    for name, service in _services().items():
        twice = set(values) & set(_compose_environment(service))
        assert not twice, f"{name}: {sorted(twice)} set both in docker-compose.yml and production.env"


def test_compose_reads_the_env_file_the_example_is_for() -> None:
    for name, service in _services().items():
        files = service.get("env_file") or []
        for env_file in [files] if isinstance(files, str) else files:
            path = env_file if isinstance(env_file, str) else env_file["path"]
            assert (DEPLOY / f"{path}.example").is_file(), f"{name} reads {path}, which has no {path}.example"
    ignored = (DEPLOY / ".gitignore").read_text(encoding="utf-8").split()
    assert "production.env" in ignored


def test_database_url_agrees_with_the_tracker_store_settings() -> None:
    values = _env_file(ENV_EXAMPLE)
    url = urlparse(values["DATABASE_URL"])
    assert url.scheme == "postgresql"
    assert url.username == values["POSTGRES_USER"] and url.password == values["POSTGRES_PASSWORD"]
    assert url.path.lstrip("/") == values["POSTGRES_DB"]
    bot = _compose_environment(_services()["bot-1"])
    assert (url.hostname, str(url.port)) == (bot["POSTGRES_HOST"], bot["POSTGRES_PORT"])
    assert bot["POSTGRES_HOST"] in _services() and bot["REDIS_HOST"] in _services()

    config = _one("ConfigMap", "kyr-config")["data"]
    k8s_url = urlparse(_one("Secret", "kyr-secrets")["stringData"]["DATABASE_URL"])
    assert (k8s_url.hostname, str(k8s_url.port)) == (config["POSTGRES_HOST"].lower(), config["POSTGRES_PORT"])
    assert k8s_url.username == config["POSTGRES_USER"] and k8s_url.path.lstrip("/") == config["POSTGRES_DB"]


def test_kubernetes_sets_only_variables_the_project_reads() -> None:
    config = _one("ConfigMap", "kyr-config")["data"]
    secret = _one("Secret", "kyr-secrets")["stringData"]
    assert not set(config) - ALLOWED_VARIABLES, f"ConfigMap: unknown {sorted(set(config) - ALLOWED_VARIABLES)}"
    assert not set(config) & SECRETS, f"ConfigMap holds secrets: {sorted(set(config) & SECRETS)}"
    assert set(secret) == SECRETS
    assert all("CHANGE_ME" in value for value in secret.values()), "the Secret template must hold placeholders only"
    config_maps = {d["metadata"]["name"] for d in _k8s("ConfigMap")}
    for workload, container in _k8s_containers():
        names = {e["name"] for e in container.get("env", [])}
        assert not names - ALLOWED_VARIABLES, f"{workload['metadata']['name']}: unknown {sorted(names - ALLOWED_VARIABLES)}"
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                assert source["configMapRef"]["name"] in config_maps
            if "secretRef" in source:
                assert source["secretRef"]["name"] == "kyr-secrets"
    # Every stored setting is one the processes read: the same stores as compose.
    assert config["KYR_ENDPOINTS"] == "deploy/endpoints.production.yml"


def test_both_deployments_use_the_production_stores() -> None:
    for name, service in _services().items():
        if _python_module(_compose_argv(service)) in ("server", "rasa_sdk", "organizer") or "kyr retention" in " ".join(_compose_argv(service)):
            assert _compose_environment(service).get("KYR_ENDPOINTS") == "deploy/endpoints.production.yml", name
    assert (ROOT / "deploy" / "endpoints.production.yml").is_file()


# --- replicas and balancers -------------------------------------------------------------


def _compose_role(module: str) -> Dict[str, Dict[str, Any]]:
    return {n: s for n, s in _services().items() if _python_module(_compose_argv(s)) == module}


def _compose_balancer(strategy: str) -> Tuple[str, List[str]]:
    found = [
        (n, _compose_argv(s)) for n, s in _compose_role("balancer.proxy").items()
        if _option(_compose_argv(s), "--strategy") == [strategy]
    ]
    assert len(found) == 1, f"expected one {strategy} balancer in docker-compose.yml"
    return found[0]


def test_compose_balancers_list_exactly_the_declared_replicas() -> None:
    for module, strategy in (("server", "conversation"), ("rasa_sdk", "round_robin")):
        replicas = _compose_role(module)
        assert len(replicas) >= 2, f"expected at least 2 {module} services"
        _, argv = _compose_balancer(strategy)
        backends = [_host_port(b) for b in _option(argv, "--backend")]
        assert len(backends) == len(set(backends)), f"{strategy} balancer lists a backend twice"
        assert {host for host, _ in backends} == set(replicas), f"{strategy} balancer backends {backends} != services {sorted(replicas)}"
        for host, port in backends:
            assert _option(_compose_argv(replicas[host]), "--port") == [str(port)], f"{host} does not listen on {port}"
        for name, service in replicas.items():
            assert "replicas" not in (service.get("deploy") or {}) and "scale" not in service, (
                f"{name}: replicas of one service are not individually addressable by the balancer"
            )


def test_compose_bots_call_the_action_balancer() -> None:
    name, argv = _compose_balancer("round_robin")
    for bot_name, bot in _compose_role("server").items():
        url = urlparse(_compose_environment(bot)["ACTION_ENDPOINT_URL"])
        assert (url.hostname, url.port, url.path) == (name, int(_option(argv, "--port")[0]), "/webhook"), bot_name


def test_compose_runs_one_organizer_and_stores_as_asked() -> None:
    organizers = _compose_role("organizer")
    assert list(organizers) == ["organizer"]
    assert (organizers["organizer"].get("deploy") or {}).get("replicas", 1) == 1
    services = _services()
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    redis = " ".join(_compose_argv(services["redis"]))
    assert re.search(r"--save (''|\"\")", redis) and "--appendonly no" in redis


def test_compose_dependencies_exist_and_can_become_healthy() -> None:
    services = _services()
    for name, service in services.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on {dependency}, which is not a service"
            if condition.get("condition") == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency} to be healthy, which has no healthcheck"


def test_compose_bots_are_health_checked_on_ready() -> None:
    for name, service in _compose_role("server").items():
        test = " ".join(service["healthcheck"]["test"])
        assert re.search(r"http://127\.0\.0\.1:5005/ready\b", test), name


def test_k8s_balancer_lists_exactly_the_statefulset_pods() -> None:
    bot = _one("StatefulSet", "bot")
    replicas, service_name = bot["spec"]["replicas"], bot["spec"]["serviceName"]
    assert replicas >= 2
    headless = _one("Service", service_name)
    assert headless["spec"].get("clusterIP") == "None", "the bot Service must be headless (stable per-pod DNS names)"
    bot_port = {p["name"]: p["containerPort"] for p in _pod_spec(bot)["containers"][0]["ports"]}["http"]

    balancers = [(w, c) for w, c in _k8s_containers() if _python_module(_argv(c)) == "balancer.proxy"]
    assert len(balancers) == 1
    workload, container = balancers[0]
    assert workload["kind"] == "Deployment"
    argv = _argv(container)
    assert _option(argv, "--strategy") == ["conversation"]
    pods = []
    for backend in _option(argv, "--backend"):
        host, port = _host_port(backend)
        labels = host.split(".")
        assert labels[1] == service_name and labels[2:] in ([], [NAMESPACE], [NAMESPACE, "svc"], [NAMESPACE, "svc", "cluster", "local"]), backend
        assert port == bot_port
        pods.append(labels[0])
    assert sorted(pods) == sorted(f"{bot['metadata']['name']}-{i}" for i in range(replicas)), (
        f"balancer backends {pods} != StatefulSet pods bot-0..bot-{replicas - 1}"
    )


def test_k8s_services_select_their_pods_and_ports() -> None:
    for service in _k8s("Service"):
        selector = service["spec"]["selector"]
        matches = [w for w in _workloads() if w["kind"] != "CronJob" and selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()]
        assert len(matches) == 1, f"Service {service['metadata']['name']} selects {len(matches)} workloads"
        ports = {p.get("name"): p["containerPort"] for c in _pod_spec(matches[0])["containers"] for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            assert target in ports or target in ports.values(), f"Service {service['metadata']['name']}: no container port {target}"
    for workload in _workloads():
        if workload["kind"] != "CronJob":
            assert workload["spec"]["selector"]["matchLabels"].items() <= workload["spec"]["template"]["metadata"]["labels"].items()
    # The bot pods call the action servers through the actions Service.
    host, port = _host_port(_one("ConfigMap", "kyr-config")["data"]["ACTION_ENDPOINT_URL"])
    actions = _one("Service", host)
    assert any(p["port"] == port for p in actions["spec"]["ports"])


def test_k8s_workloads_are_as_asked() -> None:
    assert _one("Deployment", "actions")["spec"]["replicas"] == 2
    organizer = _one("Deployment", "organizer")
    assert organizer["spec"]["replicas"] == 1 and organizer["spec"]["strategy"]["type"] == "Recreate"
    cronjob = _one("CronJob", "retention")
    assert _argv(_pod_spec(cronjob)["containers"][0]) == ["kyr", "retention"]
    assert len(cronjob["spec"]["schedule"].split()) == 5 and cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    for doc in _k8s_docs():
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == NAMESPACE, f"{doc['kind']} {doc['metadata']['name']}"


def test_k8s_containers_have_probes_resources_and_no_root() -> None:
    bot = _pod_spec(_one("StatefulSet", "bot"))["containers"][0]
    assert bot["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert bot["livenessProbe"]["httpGet"]["path"] == "/health"
    assert bot["resources"]["requests"]["memory"] in ("1536Mi", "1.5Gi")  # RSS ~1.4 GB measured
    for workload, container in _k8s_containers():
        where = f"{workload['metadata']['name']}/{container['name']}"
        assert container["resources"]["requests"]["memory"] and container["resources"]["limits"]["memory"], where
        # The namespace enforces the "restricted" Pod Security Standard.
        assert container["securityContext"]["allowPrivilegeEscalation"] is False, where
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], where
        assert _pod_spec(workload)["securityContext"]["runAsNonRoot"] is True, where
        assert _pod_spec(workload)["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        assert container["image"] == "kyr-bot", f"{where}: the image kustomization.yaml rewrites is 'kyr-bot'"
        if workload["kind"] != "CronJob" and _python_module(_argv(container)):
            assert "readinessProbe" in container and "livenessProbe" in container, where


def test_kustomization_lists_every_manifest_but_the_secret_template() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    listed = kustomization["resources"]
    on_disk = sorted(p.name for p in K8S.glob("*.yaml") if p.name not in ("kustomization.yaml", SECRET_TEMPLATE.name))
    assert sorted(listed) == on_disk
    assert SECRET_TEMPLATE.name not in listed, "applying the template would overwrite the real Secret with placeholders"
    assert [i["name"] for i in kustomization["images"]] == ["kyr-bot"]


# --- PostgreSQL connections -------------------------------------------------------------


def test_compose_pools_stay_under_max_connections() -> None:
    services = _services()
    match = re.search(r"max_connections=(\d+)", " ".join(_compose_argv(services["postgres"])))
    assert match, "set max_connections explicitly on the postgres command"
    max_connections = int(match.group(1))
    kb = _kb_pool()
    total = 0
    for name, service in services.items():
        argv, env = _compose_argv(service), _compose_environment(service)
        module = _python_module(argv)
        if module == "server":
            total += int(env["SQL_POOL_SIZE"]) + int(env["SQL_MAX_OVERFLOW"]) + kb
        elif module in ("rasa_sdk", "organizer"):
            total += kb
        elif "kyr retention" in " ".join(argv):
            total += RETENTION_CONNECTIONS
    assert total < max_connections - SUPERUSER_RESERVED
    header = COMPOSE.read_text(encoding="utf-8").split("\nname:")[0]
    assert re.search(rf"total\s+{total}\b", header), f"the sum in docker-compose.yml's comment is not {total}"


def test_k8s_pools_stay_under_max_connections() -> None:
    config = _one("ConfigMap", "kyr-config")
    max_connections = int(config["metadata"]["annotations"]["kyr-bot/postgres-max-connections"])
    data, kb = config["data"], _kb_pool()
    total = 0
    for workload in _workloads():
        replicas = workload["spec"].get("replicas", 1) if workload["kind"] != "CronJob" else 1
        for container in _pod_spec(workload)["containers"]:
            argv = _argv(container)
            module = _python_module(argv)
            if module == "server":
                total += replicas * (int(data["SQL_POOL_SIZE"]) + int(data["SQL_MAX_OVERFLOW"]) + kb)
            elif module in ("rasa_sdk", "organizer"):
                total += replicas * kb
            elif "kyr retention" in " ".join(argv):
                total += replicas * RETENTION_CONNECTIONS
    assert total < max_connections - SUPERUSER_RESERVED
    header = (K8S / "configmap.yaml").read_text(encoding="utf-8").split("\napiVersion:")[0]
    assert re.search(rf"total\s+{total}\b", header), f"the sum in configmap.yaml's comment is not {total}"


# --- commands ---------------------------------------------------------------------------


def _all_commands() -> List[Tuple[str, List[str]]]:
    commands = [(f"compose {n}", _compose_argv(s)) for n, s in _services().items() if s.get("image", "").startswith("${KYR_IMAGE")]
    commands += [(f"k8s {w['metadata']['name']}/{c['name']}", _argv(c)) for w, c in _k8s_containers()]
    cmd = [args for keyword, args in _dockerfile_instructions() if keyword == "CMD"]
    assert len(cmd) == 1
    commands.append(("Dockerfile CMD", yaml.safe_load(cmd[0])))
    return commands


def _kyr_invocations(argv: List[str]) -> List[List[str]]:
    """`kyr ...` argument lists, run directly or inside `sh -c`."""
    if argv[:1] == ["kyr"]:
        return [argv[1:]]
    if argv[:2] == ["sh", "-c"]:
        return [shlex.split(m) for m in re.findall(r"\bkyr ([a-z][^;|&]*?)(?:\s*(?:;|\|\||&&|$))", argv[2])]
    return []


def test_every_command_runs_a_module_or_kyr_command_that_exists() -> None:
    from bot.cli import build_parser

    modules_seen: Set[str] = set()
    for where, argv in _all_commands():
        module = _python_module(argv)
        invocations = _kyr_invocations(argv)
        assert module or invocations, f"{where}: neither `python -m <module>` nor `kyr ...`: {argv}"
        if module:
            modules_seen.add(module)
            assert importlib.util.find_spec(module) is not None, f"{where}: no module {module}"
            source = _package_sources(module)
            for flag in (a for a in argv[3:] if a.startswith("--")):
                assert f'"{flag}"' in source, f"{where}: {module} has no option {flag}"
            if module == "rasa_sdk":
                assert importlib.util.find_spec(_option(argv, "--actions")[0]) is not None
            if module == "balancer.proxy":
                assert all(f'"{s}"' in source for s in _option(argv, "--strategy"))
            if module in ("server", "balancer.proxy", "organizer"):
                # Their default is loopback, unreachable from another container.
                assert _option(argv, "--host") == ["0.0.0.0"], f"{where}: listens on loopback only"
        for args in invocations:
            try:
                build_parser().parse_args(args)
            except SystemExit:
                pytest.fail(f"{where}: `kyr {' '.join(args)}` is not a valid kyr command")
            modules_seen.add(f"kyr {args[0]}")
    assert {"server", "rasa_sdk", "balancer.proxy", "organizer", "kyr retention"} <= modules_seen
    assert re.search(r'^kyr\s*=\s*"bot\.cli:main"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.M)


def test_the_bot_runs_the_model_the_image_trains() -> None:
    runs = " ".join(args for keyword, args in _dockerfile_instructions() if keyword == "RUN")
    train = re.search(r"rasa train\b[^&]*--fixed-model-name (\S+)[^&]*--out (\S+)", runs)
    assert train, "the Dockerfile does not train the model (rasa train --fixed-model-name NAME --out DIR)"
    model = f"{train.group(2)}/{train.group(1)}.tar.gz"
    for where, argv in _all_commands():
        if _python_module(argv) == "server":
            assert _option(argv, "--model") == [model], where


def test_health_checks_ask_paths_the_servers_serve() -> None:
    for name, service in _services().items():
        module = _python_module(_compose_argv(service))
        if not module or "healthcheck" not in service:
            continue
        test = " ".join(service["healthcheck"]["test"])
        port, path = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/]*)", test).groups()
        listens = _option(_compose_argv(service), "--port")
        assert listens == [port], f"{name} checks port {port} but listens on {listens}"
        assert f'"{path}"' in _package_sources(module), f"{name}: {module} does not serve {path}"
    for workload, container in _k8s_containers():
        module = _python_module(_argv(container))
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            http = container.get(probe, {}).get("httpGet")
            if http:
                assert f'"{http["path"]}"' in _package_sources(module or ""), f"{container['name']} {probe}: {http['path']}"


# --- Dockerfile -------------------------------------------------------------------------


def _copied() -> Set[str]:
    sources: Set[str] = set()
    for keyword, args in _dockerfile_instructions():
        if keyword == "COPY":
            parts = [p for p in args.split() if not p.startswith("--")]
            sources |= {p.rstrip("/") for p in parts[:-1]}
    return sources


def test_the_dockerfile_copies_every_package_and_runtime_file() -> None:
    copied = _copied()
    packages = _pyproject_packages()
    for package in packages:
        assert (ROOT / package / "__init__.py").is_file(), f"pyproject includes {package}*, which is not a package here"
    needed = set(packages) | {
        "requirements.lock", "pyproject.toml", "README.md", "kb", "data", "widget",
        "config.yml", "domain.yml", "credentials.yml", "endpoints.yml", "deploy/endpoints.production.yml",
    }
    assert not needed - copied, f"the Dockerfile does not copy {sorted(needed - copied)}"
    for source in copied:
        assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which does not exist"
        # Local state and anything that may hold secrets stay out of the image.
        assert source not in ("var", ".env", "deploy", "deploy/production.env", ".") and not source.startswith("var/"), source


def test_the_dockerfile_builds_as_asked() -> None:
    instructions = _dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.10-slim")
    runs = " ".join(args for keyword, args in instructions if keyword == "RUN")
    assert re.search(r"pip install -c requirements\.lock \.(\s|$)", runs)
    env_names = set()
    for keyword, args in instructions:
        if keyword in ("ENV", "ARG"):
            env_names |= set(re.findall(r"(?:^|\s)([A-Z][A-Z0-9_]*)=", args))
    assert not env_names & SECRETS, f"a secret in the image: {sorted(env_names & SECRETS)}"
    assert not env_names - ALLOWED_VARIABLES - IMAGE_ONLY_VARIABLES, sorted(env_names - ALLOWED_VARIABLES - IMAGE_ONLY_VARIABLES)
    assert re.search(r"(?:^|\s)RASA_TELEMETRY_ENABLED=false\b", " ".join(a for k, a in instructions if k == "ENV"))
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users, "the image must not run as root"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) != 0, "a numeric non-root USER (so runAsNonRoot can check it)"
    assert [k for k, _ in instructions].index("USER") > max(i for i, (k, _) in enumerate(instructions) if k == "RUN")
    for workload, _ in _k8s_containers():
        assert str(_pod_spec(workload)["securityContext"]["runAsUser"]) == user
