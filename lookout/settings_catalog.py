"""Every setting of every service, read from the pydantic-settings classes themselves, so
`lookout settings` and the README cannot drift from the code."""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass

from pydantic_settings import BaseSettings

# One settings module per room that has a service; a room without one is skipped.
SETTINGS_MODULES = (
    "bus.settings",
    "ingest.settings",
    "store.settings",
    "fusion.settings",
    "api.settings",
    "api.webhooks.settings",
    "lookout.settings",
)


@dataclass(frozen=True)
class SettingDoc:
    env: str
    default: str
    description: str
    owner: str


def settings_classes() -> list[type[BaseSettings]]:
    found: list[type[BaseSettings]] = []
    for name in SETTINGS_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseSettings) and obj is not BaseSettings and obj.__module__ == name:
                found.append(obj)
    return found


def _show(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def catalog() -> list[SettingDoc]:
    """One entry per variable. A variable several services read (LOOKOUT_DATABASE_URL) is
    listed once, with every reader and, where they differ, each one's default."""
    found: dict[str, list[tuple[str, str, str]]] = {}
    for cls in settings_classes():
        prefix = str(cls.model_config.get("env_prefix", ""))
        for field_name, info in cls.model_fields.items():
            env = (prefix + (info.alias or field_name)).upper()
            default = (
                "" if info.is_required() else _show(info.get_default(call_default_factory=True))
            )
            found.setdefault(env, []).append((default, info.description or "", cls.__name__))
    docs = []
    for env, readers in found.items():
        defaults = {default for default, _, _ in readers}
        default = (
            readers[0][0]
            if len(defaults) == 1
            else "; ".join(f"{d} ({owner})" for d, _, owner in readers)
        )
        descriptions = list(dict.fromkeys(text for _, text, _ in readers if text))
        owners = ", ".join(owner for _, _, owner in readers)
        docs.append(SettingDoc(env, default, " ".join(descriptions), owners))
    return sorted(docs, key=lambda d: d.env)


def env_file() -> str:
    """Every variable as a commented ``.env`` block: readable at any width, and a start
    for a deployment's environment file."""
    blocks = []
    for doc in catalog():
        assignment = f"{doc.env}={doc.default}" if doc.default != "unset" else f"# {doc.env}="
        blocks.append(f"# {doc.description} (read by {doc.owner})\n{assignment}")
    return "\n\n".join(blocks)


def markdown_table() -> str:
    """The README's configuration table."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for doc in catalog():
        lines.append(f"| `{doc.env}` | `{doc.default}` | {doc.description} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
