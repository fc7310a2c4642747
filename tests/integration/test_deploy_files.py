"""The deployment files, checked without running them (scripts/check_docker_image.sh runs the image).

- prefect.yaml: read as `prefect deploy` reads it; every entrypoint imports (no placeholder flow), its
  parameters exist in the flow's signature and pass its parameter schema, every work pool it names is
  created somewhere (compose or the Kubernetes README) and its job variables fit that pool's template.
- deployments/kubernetes/base-job-template.json: the server's template check, then rendered by
  prefect-kubernetes into the Job a flow run gets and validated by `kubernetes-validate --strict`.
- docker/compose.yaml: consistency with prefect.yaml and the repository, `sh -n` on `sh -c` commands,
  and the compose-spec JSON schema (`check-jsonschema --builtin-schema vendor.compose-spec`).
- docker/Dockerfile: COPY sources exist, pins agree with pyproject, `hadolint`.

The validators (kubernetes-validate, check-jsonschema, hadolint) are found beside this interpreter or on
PATH; without one its check is skipped. scripts/check_deploy_files.sh installs them in a cache venv
and sets CLIPMILL_DEPLOY_CHECK_STRICT=1, which turns those skips into failures.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PREFECT_YAML = REPO / "prefect.yaml"
COMPOSE = REPO / "docker" / "compose.yaml"
DOCKERFILE = REPO / "docker" / "Dockerfile"
K8S_DIR = REPO / "deployments" / "kubernetes"
K8S_TEMPLATE = K8S_DIR / "base-job-template.json"
STRICT = os.environ.get("CLIPMILL_DEPLOY_CHECK_STRICT") == "1"


def unavailable(reason: str) -> None:
    """Skip (fail under scripts/check_deploy_files.sh) when a validator is missing."""
    if STRICT:
        pytest.fail(f"{reason} (CLIPMILL_DEPLOY_CHECK_STRICT=1)")
    pytest.skip(f"{reason}: run scripts/check_deploy_files.sh")


def tool(name: str) -> str:
    """The validator on PATH (scripts/check_deploy_files.sh puts its venv first), else beside this Python."""
    here = Path(sys.executable).parent / name
    found = shutil.which(name) or (str(here) if here.exists() else None)
    if not found:
        unavailable(f"{name} is not installed")
    return found


def run_tool(*args: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"


def prefect_yaml() -> dict[str, Any]:
    return yaml.safe_load(PREFECT_YAML.read_text())


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


DEPLOYMENTS = {d["name"]: d for d in prefect_yaml()["deployments"]}
ENTRYPOINTS = sorted({d["entrypoint"] for d in DEPLOYMENTS.values()})


def pool_types() -> dict[str, tuple[str, str]]:
    """Work pool name -> (type, where it is created), from the compose worker and the Kubernetes README."""
    created = {}
    sources = [(COMPOSE, service.get("command") or "") for service in compose()["services"].values()]
    sources.append((K8S_DIR / "README.md", (K8S_DIR / "README.md").read_text()))
    for path, text in sources:
        text = text if isinstance(text, str) else " ".join(text)
        for name, kind in re.findall(r"prefect work-pool create (\S+)\s+(?:\\\s*)?--type (\S+)", text):
            created[name] = (kind, path.relative_to(REPO).as_posix())
    return created


def base_job_template(kind: str) -> dict[str, Any]:
    if kind == "process":
        from prefect.workers.process import ProcessWorker

        return ProcessWorker.get_default_base_job_template()
    if kind == "docker":
        try:
            from prefect_docker.worker import DockerWorker
        except ImportError:
            unavailable("prefect-docker is not installed")
        return DockerWorker.get_default_base_job_template()
    if kind == "kubernetes":
        return json.loads(K8S_TEMPLATE.read_text())
    raise AssertionError(f"no template known for work pool type {kind!r}")


@pytest.fixture(scope="module")
def flows() -> dict[str, Any]:
    """Load each entrypoint as `prefect deploy` does (from the repository root), without its fallback to
    a placeholder flow parsed from the source; the cwd, sys.path and the loader's modules are restored."""
    from prefect.flows import load_flow_from_entrypoint

    saved_path, saved_modules, cwd = list(sys.path), set(sys.modules), os.getcwd()
    loaded: dict[str, Any] = {}
    os.chdir(REPO)
    try:
        for entrypoint in ENTRYPOINTS:
            try:
                loaded[entrypoint] = load_flow_from_entrypoint(entrypoint, use_placeholder_flow=False)
            except Exception as exc:  # noqa: BLE001 - reported per deployment
                loaded[entrypoint] = exc
    finally:
        os.chdir(cwd)
        sys.path[:] = saved_path
        stems = {Path(e.split(":")[0]).stem for e in ENTRYPOINTS}
        for name in set(sys.modules) - saved_modules:
            if name in stems or name.startswith("__prefect_loader_"):
                del sys.modules[name]
    return loaded


# --- prefect.yaml -----------------------------------------------------------------------------------


def test_prefect_yaml_reads_as_prefect_deploy_reads_it():
    from prefect.cli.deploy._models import DeploymentConfig, PrefectYamlModel, WorkPoolConfig

    raw = prefect_yaml()
    model = PrefectYamlModel.model_validate(raw)
    assert len(model.deployments) == len(DEPLOYMENTS), "deployment names must be unique"
    from prefect import __version__

    assert raw["prefect-version"] == __version__, "prefect.yaml's prefect-version is not the installed prefect"
    # prefect ignores unknown keys: a misspelt or misplaced one (job_variables outside work_pool) is lost
    for deployment in raw["deployments"]:
        assert not set(deployment) - set(DeploymentConfig.model_fields), deployment["name"]
        assert not set(deployment["work_pool"]) - set(WorkPoolConfig.model_fields), deployment["name"]


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_entrypoint_imports_and_parameters_fit_the_flow(name, flows):
    from prefect.utilities.callables import parameter_schema
    from prefect.utilities.schema_tools import validate

    deployment = DEPLOYMENTS[name]
    flow = flows[deployment["entrypoint"]]
    if isinstance(flow, Exception):
        raise AssertionError(f"{deployment['entrypoint']} does not load") from flow
    schema = parameter_schema(flow).model_dump_for_openapi()
    parameters = deployment.get("parameters") or {}
    unknown = set(parameters) - set(schema["properties"])
    assert not unknown, f"{name}: {sorted(unknown)} are not parameters of {flow.name}"
    # what the server checks on a run (enforce_parameter_schema), required ones included: a scheduled or
    # bare `prefect deployment run` gets nothing more
    validate(parameters, schema, raise_on_error=True, ignore_required=False)


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_schedules_parse(name):
    from prefect.client.schemas.schedules import CronSchedule

    for schedule in DEPLOYMENTS[name].get("schedules") or []:
        CronSchedule(cron=schedule["cron"], timezone=schedule.get("timezone"))


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_work_pool_exists_and_job_variables_fit_its_template(name):
    from prefect.utilities.schema_tools import validate

    pool = DEPLOYMENTS[name]["work_pool"]
    created = pool_types()
    assert pool["name"] in created, f"{name}: nothing creates work pool {pool['name']!r}"
    kind, _ = created[pool["name"]]
    variables = base_job_template(kind)["variables"]
    job_variables = pool.get("job_variables") or {}
    # templates allow extra keys, so a misspelt job variable would be ignored without a word
    unknown = set(job_variables) - set(variables["properties"])
    assert not unknown, f"{name}: {sorted(unknown)} are not variables of a {kind} work pool"
    # {{ $ENV }} placeholders are filled at deploy time; an unset one becomes ""
    filled = json.loads(re.sub(r"\{\{ *\$\w+ *\}\}", "", json.dumps(job_variables)))
    validate(filled, variables, raise_on_error=True, ignore_required=True, allow_none_with_default=True)


# --- Kubernetes -------------------------------------------------------------------------------------


def test_kubernetes_template_passes_the_servers_check():
    from prefect.server.schemas.actions import validate_base_job_template

    validate_base_job_template(json.loads(K8S_TEMPLATE.read_text()))


@pytest.fixture(scope="module")
def kubernetes_job() -> dict[str, Any]:
    """The Job a flow run of clip-job-k8s gets: the template with its defaults and the deployment's job
    variables, prepared by prefect-kubernetes' own job configuration."""
    try:
        from prefect_kubernetes.worker import KubernetesWorkerJobConfiguration
    except ImportError:
        unavailable("prefect-kubernetes is not installed")
    from prefect.client.schemas.objects import FlowRun
    from prefect.settings import PREFECT_API_URL, temporary_settings

    values = DEPLOYMENTS["clip-job-k8s"]["work_pool"].get("job_variables") or {}
    # a dead API address: rendering must not need a server (nor start a temporary one)
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        config = asyncio.run(
            KubernetesWorkerJobConfiguration.from_template_and_values(json.loads(K8S_TEMPLATE.read_text()), values)
        )
        config.prepare_for_flow_run(FlowRun(id=uuid.uuid4(), name="quiet-fox", flow_id=uuid.uuid4()))
    return config.job_manifest


def test_kubernetes_job_is_what_the_template_means(kubernetes_job):
    pod = kubernetes_job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert kubernetes_job["metadata"]["namespace"] == "clipmill"
    assert container["envFrom"] == [{"secretRef": {"name": "clipmill-storage"}}]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["CLIPMILL_HOME"].startswith(container["volumeMounts"][0]["mountPath"] + "/")
    assert env["CLIPMILL_DASK_ADDRESS"].startswith("tcp://")
    assert container["workingDir"] == "/opt/clipmill" == DEPLOYMENTS["clip-job-k8s"]["pull"][0][
        "prefect.deployments.steps.set_working_directory"]["directory"]


def test_kubernetes_job_validates_against_the_kubernetes_schema(kubernetes_job, tmp_path):
    validator = tool("kubernetes-validate")
    job = json.loads(json.dumps(kubernetes_job))
    # the API server makes the name from generateName; kubernetes-validate's error report needs one
    job["metadata"]["name"] = job["metadata"]["generateName"] + "x7k2p"
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(job))
    run_tool(validator, "--strict", str(path))


# --- compose ----------------------------------------------------------------------------------------


def compose_deploys(command: str) -> set[str]:
    if "prefect deploy" not in command:
        return set()
    if "--all" in command:
        return set(DEPLOYMENTS)
    return set(re.findall(r"--name (\S+)", command.split("prefect deploy", 1)[1].split("&&")[0]))


def test_compose_creates_the_pools_of_what_it_deploys():
    created = pool_types()
    for name, service in compose()["services"].items():
        command = service.get("command") or ""
        for deployment in compose_deploys(command):
            assert deployment in DEPLOYMENTS, f"{name} deploys {deployment!r}, which prefect.yaml lacks"
            pool = DEPLOYMENTS[deployment]["work_pool"]["name"]
            assert f"work-pool create {pool} " in command, (
                f"compose service {name} deploys {deployment} before anything creates its pool {pool!r} "
                f"(created in {created.get(pool, ('', 'nowhere'))[1]}): prefect deploy stops with an error"
            )


def test_compose_is_consistent_with_itself_and_the_repository():
    spec = compose()
    services = spec["services"]
    volumes = set(spec.get("volumes") or {})
    for name, service in services.items():
        depends = service.get("depends_on") or []
        assert not set(depends) - set(services), f"{name} depends on an undefined service"
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0]
            assert source.startswith(("/", ".")) or source in volumes, f"{name}: volume {source!r} undeclared"
        if "build" in service:
            context = (COMPOSE.parent / service["build"]["context"]).resolve()
            assert (context / service["build"]["dockerfile"]).is_file(), name
            assert context == REPO, "the Dockerfile's COPY paths are relative to the repository root"
    # clip-job-docker runs the image compose builds, on compose's default network
    docker = DEPLOYMENTS["clip-job-docker"]["work_pool"]["job_variables"]
    built = {s["image"] for s in services.values() if "build" in s}
    assert built == {docker["image"]}
    assert docker["networks"] == [f"{spec['name']}_default"]
    workers = [s for s in services.values() if "--pool clipmill-docker" in str(s.get("command"))]
    assert workers and all("/var/run/docker.sock" in str(s.get("volumes")) for s in workers)


@pytest.mark.skipif(not shutil.which("sh"), reason="no sh")
def test_compose_shell_commands_parse():
    for name, service in compose()["services"].items():
        command = service.get("command")
        if isinstance(command, str) and command.startswith("sh -c"):
            script = shlex.split(command)[2]
            done = subprocess.run(["sh", "-n", "-c", script], capture_output=True, text=True)
            assert done.returncode == 0, f"{name}: {done.stderr}"


def test_compose_validates_against_the_compose_spec_schema():
    run_tool(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE))


# --- Dockerfile -------------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_dockerfile_copies_what_exists_and_pins_what_pyproject_allows():
    from packaging.requirements import Requirement

    for instruction, args in dockerfile_instructions():
        if instruction == "COPY":
            *sources, _ = args.split()
            for source in sources:
                assert (REPO / source).exists(), f"COPY {source}: not in the build context"
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runs = " ".join(args for instruction, args in dockerfile_instructions() if instruction == "RUN")
    torch = re.search(r'"torch==([\w.]+)"', runs).group(1)
    core = {Requirement(r).name: Requirement(r) for r in project["dependencies"]}
    assert core["torch"].specifier.contains(torch), f"the image's torch {torch} is outside {core['torch']}"
    for extras in re.findall(r'-e "\.\[([\w,]+)\]"', runs):
        assert set(extras.split(",")) <= set(project["optional-dependencies"]), extras


def test_dockerfile_passes_hadolint():
    run_tool(tool("hadolint"), "--no-color", str(DOCKERFILE))
