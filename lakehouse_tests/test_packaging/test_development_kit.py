"""The development kit (``lakehouse[local]``) is optional: what is said when it is missing.

The kit's module list is pointed at a module that does not exist, so these run in the full test
environment; ``test_wheel.py`` checks the same against a real install without the kit.
"""

from __future__ import annotations

import pytest

from lakehouse import cli, development_kit

ABSENT = "lakehouse_no_such_kit_module"
HINT = "pip install 'lakehouse[local]'"


@pytest.fixture
def kit_missing(monkeypatch):
    monkeypatch.setattr(development_kit, "MODULES", (*development_kit.MODULES, ABSENT))


def test_the_installed_kit_is_complete():
    assert development_kit.missing_modules() == []
    development_kit.require("the local services")


def test_require_names_the_missing_module_and_the_install_command(kit_missing):
    with pytest.raises(development_kit.DevelopmentKitMissingError) as raised:
        development_kit.require("the local services")
    assert str(raised.value) == (
        f"the local services need the development kit ({ABSENT} is not installed): {HINT}"
    )


def test_a_failed_import_of_the_kit_becomes_the_one_line_error():
    error = development_kit.missing("the data generator", ModuleNotFoundError("x", name="fakesnow.instance"))
    assert isinstance(error, development_kit.DevelopmentKitMissingError)
    assert str(error).startswith("the data generator need the development kit (fakesnow is not installed)")


def test_a_failed_import_of_anything_else_is_not_hidden():
    original = ModuleNotFoundError("No module named 'yaml'", name="yaml")
    assert development_kit.missing("the data generator", original) is original


@pytest.mark.parametrize(
    ("command", "purpose"),
    [
        (["services", "up"], "the local services"),
        (["services", "status"], "the local services"),
        (["generate"], "the local services and the data generator"),
        (["demo"], "the local services and the data generator"),
        (["dev"], "the local services"),
    ],
)
def test_local_commands_stop_with_one_line_before_starting_anything(
    kit_missing, command, purpose, capsys, tmp_path, monkeypatch
):
    monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path))
    monkeypatch.setattr(cli.error_console, "width", 400)  # a wide terminal: the message is one line
    with pytest.raises(SystemExit) as exited:
        cli.main(command)
    assert exited.value.code == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert lines == [
        f"error: {purpose} need the development kit ({ABSENT} is not installed): {HINT}"
    ]
    assert list(tmp_path.iterdir()) == []  # no service was started, nothing was written
