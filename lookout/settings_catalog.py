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
    docs: dict[str, SettingDoc] = {}
    for cls in settings_classes():
        prefix = str(cls.model_config.get("env_prefix", ""))
        for field_name, info in cls.model_fields.items():
            env = (prefix + (info.alias or field_name)).upper()
            default = (
                "" if info.is_required() else _show(info.get_default(call_default_factory=True))
            )
            docs.setdefault(env, SettingDoc(env, default, info.description or "", cls.__name__))
    return sorted(docs.values(), key=lambda d: d.env)


def markdown_table() -> str:
    """The README's configuration table."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for doc in catalog():
        lines.append(f"| `{doc.env}` | `{doc.default}` | {doc.description} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
