"""The README's promises stay true: every setting is documented, every command exists."""

from __future__ import annotations

import re
from pathlib import Path

from typer.main import get_command

from lookout.cli import app
from lookout.settings_catalog import catalog

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_environment_variable_is_documented_in_the_readme() -> None:
    missing = [doc.env for doc in catalog() if f"`{doc.env}`" not in README]
    assert not missing, f"README lacks: {missing} (python -m lookout.settings_catalog)"


def test_every_lookout_command_in_the_readme_exists() -> None:
    group = get_command(app)
    known = set(group.commands)  # type: ignore[attr-defined]
    used = set(re.findall(r"^\s*lookout ([a-z][a-z-]*)", README, flags=re.MULTILINE))
    assert used, "the README shows no lookout command"
    assert used <= known, f"README shows unknown commands: {used - known}"
