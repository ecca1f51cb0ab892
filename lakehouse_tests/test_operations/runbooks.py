"""Reading the runbooks' runnable commands: lines starting with ``$ `` inside ```console blocks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

RUNBOOKS_DIR = Path(__file__).resolve().parents[2] / "docs" / "runbooks"
_BLOCK = re.compile(r"^```console\s*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_PLACEHOLDER = re.compile(r"<([a-z][a-z0-9-]*)>")


@dataclass(frozen=True)
class Command:
    runbook: str
    line: str

    @property
    def placeholders(self) -> list[str]:
        return _PLACEHOLDER.findall(self.line)

    def filled(self, values: dict[str, str]) -> str:
        missing = [name for name in self.placeholders if name not in values]
        if missing:
            raise KeyError(f"{self.runbook}: no value for <{'>, <'.join(missing)}> in: {self.line}")
        return _PLACEHOLDER.sub(lambda match: values[match.group(1)], self.line)


def runbook_names() -> list[str]:
    return sorted(path.stem for path in RUNBOOKS_DIR.glob("*.md") if path.name != "README.md")


def runnable_commands(name: str) -> list[Command]:
    text = (RUNBOOKS_DIR / f"{name}.md").read_text()
    commands = []
    for block in _BLOCK.findall(text):
        for line in block.splitlines():
            if line.startswith("$ "):
                commands.append(Command(name, line[2:].strip()))
    return commands
