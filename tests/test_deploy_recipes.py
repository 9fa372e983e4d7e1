"""The guide's deploy recipes, tested as far as a machine without Docker or a
Kubernetes cluster allows: their YAML is parsed and what Kubernetes and Compose
act on is checked (who runs first, what is retried, where the URL comes from), and
the commands their containers run are run for real in a rendered project, with
/app, the image's copy of the project, standing for the project's directory."""

import os
import re
import shutil
import time
from contextlib import ExitStack
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10, the minimum-versions job
    import tomli as tomllib

import pytest
import yaml
from helpers import BIN, CREATE_ACCOUNT, REVISIONS, SEED_ACCOUNTS, SEEDED_ROWS, Database
from packaging.requirements import Requirement
from packaging.version import Version

# Answer sets that change what the section renders: the URL variable's name, and a
# long one in the init container's Python command.
ANSWER_SETS = [{}, {"program_name": "a_really_quite_long_program_name_for_stress"}]
# `alembic current --check-heads` came with Alembic 1.17.1.
CHECK_HEADS = Version("1.17.1")
NOT_AT_HEAD = "FAILED: Database is not on all head revisions"
SLOW_REVISION = REVISIONS / "5105105105a0_slow_data_migration.py"  # 2 s
REPLICAS = 4


def guide(project) -> str:
    """The rendered project's guide, where the recipes are."""
    return (project / "docs" / "migrations.md").read_text()


def fenced(section: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", section, re.M | re.S)


def recipes(section: str) -> dict[str, dict]:
    """Each YAML block of the section, parsed, by what it is."""
    found = {}
    for block in fenced(section, "yaml"):
        document = yaml.safe_load(block)
        if document.get("kind") == "Job":
            found["job"] = document
        elif document.get("kind") == "Deployment":
            found["deployment"] = document
        elif "services" in document:
            found["compose"] = document
        elif "initContainers" in document:  # a pod template's fragment
            found["waiter"] = document
        else:
            raise AssertionError(f"a YAML block of no known kind:\n{block}")
    return found


def pod_specs(found: dict[str, dict]) -> dict[str, dict]:
    """The Kubernetes pod specs (or fragments of one) of the recipes."""
    return {
        "job": found["job"]["spec"]["template"]["spec"],
        "deployment": found["deployment"]["spec"]["template"]["spec"],
        "waiter": found["waiter"],
    }


def container_commands(found: dict[str, dict]) -> dict[str, dict]:
    """{recipe: the container that migrates or waits}, of each recipe."""
    pods = pod_specs(found)
    (job,) = pods["job"]["containers"]
    (init,) = pods["deployment"]["initContainers"]
    (waiter,) = pods["waiter"]["initContainers"]
    compose = found["compose"]["services"]["migrator"]
    return {
        "job": job,
        "init container": init,
        "compose": {"command": compose["command"], "workingDir": compose["working_dir"]},
        "waiter": waiter,
    }


@pytest.fixture(params=ANSWER_SETS, ids=["defaults", "long-name"])
def answers(request) -> dict:
    return request.param


@pytest.fixture
def section(rendered, answers) -> str:
    return guide(rendered(**answers))


@pytest.fixture
def url_env(answers) -> str:
    return f"{answers.get('program_name', 'my_program').upper()}_DATABASE_URL"


@pytest.fixture
def found(section) -> dict[str, dict]:
    return recipes(section)


# What Kubernetes and Compose would do with the YAML.


def test_every_recipe_says_when_to_choose_it(section):
    """A recipe without its reason is a menu: each subsection with a YAML recipe
    starts with one."""
    recipes_found = [part for part in section.split("\n### ")[1:] if "```yaml" in part]
    assert len(recipes_found) == 4
    for recipe in recipes_found:
        first = recipe.split("\n\n")[1]
        assert first.startswith("Choose it "), f"{recipe.splitlines()[0]}: {first}"


def test_the_job_runs_once_per_release_and_leaves_failed_tries_to_read(found):
    """restartPolicy Never: a failed migration is not restarted in place, its pod and
    log stay; backoffLimit bounds the new pods a lost one is replaced by. With Helm,
    it runs before the release's other resources, at install and at upgrade."""
    job = found["job"]
    assert job["apiVersion"] == "batch/v1"
    assert job["metadata"]["annotations"]["helm.sh/hook"].split(",") == [
        "pre-install",
        "pre-upgrade",
    ]
    assert job["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == "before-hook-creation"
    assert isinstance(job["spec"]["backoffLimit"], int)
    assert 0 <= job["spec"]["backoffLimit"] <= 2
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["command"] == ["alembic", "-c", "/app/alembic.ini", "upgrade", "head"]


def test_the_kubectl_steps_wait_for_the_job_before_the_rollout(section, found):
    (steps,) = [block for block in fenced(section, "sh") if "kubectl wait" in block]
    name = found["job"]["metadata"]["name"]
    assert steps.splitlines() == [
        f"kubectl delete job {name} --ignore-not-found",
        "kubectl apply -f migrate-job.yaml",
        f"kubectl wait --for=condition=complete --timeout=15m job/{name}",
        "kubectl apply -f deployment.yaml",
    ]


def test_the_init_container_migrates_before_the_application_container_starts(found):
    """Kubernetes runs initContainers to completion, in order, before `containers`:
    the migration is an init container of the application's own pod, same image."""
    deployment = found["deployment"]
    assert deployment["apiVersion"] == "apps/v1"
    spec = deployment["spec"]
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    (init,) = spec["template"]["spec"]["initContainers"]
    (app,) = spec["template"]["spec"]["containers"]
    assert init["image"] == app["image"]
    assert init["command"][:2] == ["python", "-c"]
    assert "migrations.upgrade(migration_lock_timeout=600)" in init["command"][2]
    assert "command" not in app, "the application runs the image's own command"


def test_the_compose_application_waits_for_the_migrator_to_succeed(found):
    services = found["compose"]["services"]
    assert set(services) == {"migrator", "app"}
    assert services["app"]["depends_on"] == {
        "migrator": {"condition": "service_completed_successfully"}
    }
    assert services["migrator"]["image"] == services["app"]["image"]
    assert "restart" not in services["migrator"], "a migrator runs once, to the end"
    assert services["migrator"]["command"] == ["alembic", "upgrade", "head"]
    assert services["migrator"]["working_dir"] == "/app"


def test_the_waiting_replicas_only_read(section, found):
    """The init container that waits and the shell loop run the same script, which
    migrates nothing; the wait takes the Deployment's place for `migrate`."""
    (waiter,) = found["waiter"]["initContainers"]
    (loop,) = [block for block in fenced(section, "sh") if "--check-heads" in block]
    assert waiter["command"] == ["sh", "-c", loop.strip()]
    assert loop.strip() == "until alembic current --check-heads; do sleep 2; done"
    assert waiter["workingDir"] == "/app"
    (app,) = found["deployment"]["spec"]["template"]["spec"]["containers"]
    assert waiter["image"] == app["image"]


def test_the_url_comes_from_a_secret_or_the_environment_never_from_the_yaml(
    section, found, url_env
):
    """Every container names the URL variable once, its value from the Secret the
    guide makes; Compose interpolates it from the shell or .env, failing if unset.
    No URL, no password, in any YAML block."""
    for block in fenced(section, "yaml"):
        assert "://" not in block
        assert "password" not in block.lower()
    (create,) = [block for block in fenced(section, "sh") if "create secret" in block]
    secret, key = re.fullmatch(
        r"kubectl create secret generic (\S+) --from-file=(\w+)=\S+\n", create
    ).groups()
    for recipe, pod in pod_specs(found).items():
        for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
            (variable,) = container["env"]
            assert variable == {
                "name": url_env,
                "valueFrom": {"secretKeyRef": {"name": secret, "key": key}},
            }, f"{recipe}: {container['name']}"
    for service in found["compose"]["services"].values():
        assert set(service["environment"]) == {url_env}
        assert re.fullmatch(rf"\$\{{{url_env}:\?[^}}]+\}}", service["environment"][url_env])


def test_the_project_requires_the_alembic_the_wait_needs(section, rendered):
    """--check-heads came with Alembic 1.17.1: the project requires it."""
    text = " ".join(section.split())
    assert f"It needs Alembic {CHECK_HEADS} or newer, which `pyproject.toml` requires" in text
    pyproject = tomllib.loads((rendered() / "pyproject.toml").read_text())
    (alembic,) = [
        Requirement(dependency)
        for dependency in pyproject["project"]["dependencies"]
        if Requirement(dependency).name == "alembic"
    ]
    (lower,) = [Version(spec.version) for spec in alembic.specifier if spec.operator == ">="]
    assert lower >= CHECK_HEADS


# The commands the containers run, run for real.


def in_image(project, command: list[str]) -> list[str]:
    """The command with the image's /app standing for the project's directory."""
    return [re.sub(r"(?<![\w.])/app(?=/|$)", str(project.path), arg) for arg in command]


@pytest.fixture
def deployed(project, rendered, tmp_path):
    """deployed(backend URL or None) -> (Project, Database, commands): a project run
    like the image (this environment's `alembic` and `python` on PATH), its URL in
    the variable, as the Secret or Compose's environment sets it; the commands of
    the guide's default render, by recipe."""

    def make(url: str | None = None):
        made = project()
        database = Database(url) if url else Database.sqlite_file(tmp_path / "app.db")
        made.env[made.url_env] = made.url_for(database.url)
        made.env["PATH"] = f"{BIN}{os.pathsep}{os.environ['PATH']}"
        commands = container_commands(recipes(guide(rendered())))
        return made, database, commands

    return make


def where(project, container: dict, tmp_path: Path) -> Path:
    """The container's working directory: its workingDir, or the image's default
    (anywhere but the project)."""
    if "workingDir" in container:
        return Path(in_image(project, [container["workingDir"]])[0])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    return elsewhere


def as_installed_wheel(project, tmp_path: Path) -> None:
    """Import the package from a copy of it alone, with no alembic.ini anywhere near,
    as an installed wheel has it."""
    site = tmp_path / "site-packages"
    shutil.copytree(project.path / project.program_name, site / project.program_name)
    project.env["PYTHONPATH"] = str(site)


@pytest.mark.parametrize(
    ("recipe", "backend"),
    [("job", "sqlite"), ("job", "postgresql"), ("compose", "sqlite"), ("init container", "sqlite")],
)
def test_the_recipes_command_migrates_an_empty_database_to_head_then_finds_nothing_to_do(
    deployed, server_database, tmp_path, recipe, backend
):
    """The Job's and the migrator's `alembic` commands, in their working directories,
    and the init container's Python command from an installed wheel, on an empty
    database; the URL read as `kubectl create secret --from-file` gives it, with the
    file's newline. The next release's run, with nothing new, changes nothing."""
    url = server_database(backend) if backend != "sqlite" else None
    project, database, commands = deployed(url)
    project.env[project.url_env] += "\n"
    container = commands[recipe]
    if recipe == "init container":
        as_installed_wheel(project, tmp_path)
    command = in_image(project, container["command"])
    cwd = where(project, container, tmp_path)

    project.run(*command, cwd=cwd)
    assert database.version() == SEED_ACCOUNTS
    assert database.accounts() == SEEDED_ROWS
    project.run(*command, cwd=cwd)
    assert database.version() == SEED_ACCOUNTS
    assert database.accounts() == SEEDED_ROWS


def test_init_containers_of_pods_starting_together_run_each_revision_once(deployed, tmp_path):
    """Four pods' init containers start at once on an empty database whose history
    ends in a 2 s data migration: they take turns under the migration lock, every
    one completes, and each revision ran once (a second seed would collide on its
    ids and fail the pod)."""
    project, database, commands = deployed()
    project.add_revision(SLOW_REVISION)
    as_installed_wheel(project, tmp_path)
    init = commands["init container"]
    command = in_image(project, init["command"])
    assert "workingDir" not in init

    with ExitStack() as running:
        pods = [running.enter_context(project.start(*command)) for _ in range(REPLICAS)]
        outcomes = [(pod.wait(timeout=120), pod.stderr.read()) for pod in pods]

    for returncode, errors in outcomes:
        assert returncode == 0, errors
    assert database.version() == "5105105105a0"
    assert database.accounts() == SEEDED_ROWS


@pytest.mark.parametrize("state", ["empty", "behind", "at head", "ahead of the image"])
def test_check_heads_exits_non_zero_until_every_head_is_applied(deployed, state):
    """The guide's account of `alembic current --check-heads`, with this Alembic:
    0 and the head at head; otherwise one FAILED line and a non-zero exit, also for
    a database at a newer release's revision. It changes nothing."""
    project, database, _ = deployed()
    if state != "empty":
        project.alembic("upgrade", CREATE_ACCOUNT if state == "behind" else "head")
    if state == "ahead of the image":
        database.execute("UPDATE alembic_version SET version_num = 'a0a0a0a0a0a0'")
    before = database.tables()

    result = project.alembic("current", "--check-heads", check=False)

    if state == "at head":
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout == f"{SEED_ACCOUNTS} (head)\n"
    else:
        assert result.returncode != 0
        assert result.stdout == f"{NOT_AT_HEAD}\n"
    assert "Traceback" not in result.stderr
    assert database.tables() == before, "it only reads"


def test_check_heads_fails_in_one_line_while_the_database_is_unreachable(deployed):
    """A replica started before its database keeps waiting, saying why."""
    project, _, _ = deployed()
    project.env[project.url_env] = "postgresql+psycopg://app@127.0.0.1:1/app"
    result = project.alembic("current", "--check-heads", check=False)
    assert result.returncode != 0
    assert result.stdout.startswith("FAILED: Cannot reach the database server 127.0.0.1:1")
    assert len(result.stdout.splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_a_waiting_replica_waits_while_behind_and_starts_once_another_migrates(deployed, tmp_path):
    """The waiting init container's script, on a database one revision behind:
    it goes on waiting (a replica must not start on the old schema) until the Job's
    command migrates, then exits 0 within a round of its loop."""
    project, database, commands = deployed()
    project.alembic("upgrade", CREATE_ACCOUNT)
    waiter, job = commands["waiter"], commands["job"]
    assert where(project, waiter, tmp_path) == project.path  # where start() runs it

    with project.start(*waiter["command"]) as waiting:
        try:
            time.sleep(3)
            assert waiting.poll() is None, "it stopped waiting on a database behind"
            project.run(*in_image(project, job["command"]), cwd=where(project, job, tmp_path))
            migrated = time.monotonic()
            output, errors = waiting.communicate(timeout=30)
        finally:
            waiting.kill()
    assert waiting.returncode == 0, errors
    assert time.monotonic() - migrated < 15
    lines = output.splitlines()
    assert lines[-1] == f"{SEED_ACCOUNTS} (head)"
    assert len(lines) >= 2 and set(lines[:-1]) == {NOT_AT_HEAD}, output
    assert database.version() == SEED_ACCOUNTS
