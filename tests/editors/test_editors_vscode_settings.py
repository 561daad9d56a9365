"""The VS Code extension declares the server's settings once, in package.json; they must agree.

Every server setting in ``contributes.configuration`` maps (camelCase, dotted) onto a field of
:class:`lsp_server.config.Settings`, carries the server's default, and the enums match the
server's accepted values. Every server setting is declared, so none is missing from the UI.
"""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from lsp_server.config import ModelSettings, Settings, VariantSettings, parse_settings

PACKAGE_JSON = Path(__file__).resolve().parents[2] / "vscode-extension" / "package.json"
SECTION = "agenticOptimizer."
CLIENT_ONLY = ("server.", "trace.")


def _properties() -> dict[str, dict[str, Any]]:
    data = json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))
    props: dict[str, dict[str, Any]] = data["contributes"]["configuration"]["properties"]
    return props


def _server_props() -> dict[str, dict[str, Any]]:
    out = {}
    for name, schema in _properties().items():
        assert name.startswith(SECTION), f"{name}: outside the {SECTION} section"
        key = name.removeprefix(SECTION)
        if not key.startswith(CLIENT_ONLY):
            out[key] = schema
    return out


def _leaf_paths(model: type[BaseModel], prefix: str = "") -> dict[str, tuple[str, ...]]:
    """camelCase dotted key -> snake_case path, for every leaf setting (lists of tables are leaves)."""
    paths: dict[str, tuple[str, ...]] = {}
    for name, field in model.model_fields.items():
        camel = to_camel(name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for sub_key, sub_path in _leaf_paths(annotation).items():
                paths[f"{prefix}{camel}.{sub_key}"] = (name, *sub_path)
        else:
            paths[f"{prefix}{camel}"] = (name,)
    return paths


SERVER_LEAVES = _leaf_paths(Settings)
SERVER_DEFAULTS = Settings().model_dump(mode="json")


def _default_at(path: tuple[str, ...]) -> Any:
    value: Any = SERVER_DEFAULTS
    for part in path:
        value = value[part]
    return value


def test_every_declared_setting_is_a_server_setting() -> None:
    unknown = sorted(set(_server_props()) - set(SERVER_LEAVES))
    assert unknown == [], f"package.json declares settings the server does not have: {unknown}"


def test_every_server_setting_is_declared() -> None:
    missing = sorted(set(SERVER_LEAVES) - set(_server_props()))
    assert missing == [], f"server settings missing from package.json: {missing}"


@pytest.mark.parametrize("key", sorted(SERVER_LEAVES))
def test_default_equals_server_default(key: str) -> None:
    schema = _server_props()[key]
    assert "default" in schema, f"{key}: no default in package.json"
    assert schema["default"] == _default_at(SERVER_LEAVES[key]), key


def test_declared_defaults_parse_as_server_settings() -> None:
    """Sending every declared default (as editors may) yields exactly the server's defaults."""
    nested: dict[str, Any] = {}
    for key, schema in _server_props().items():
        node = nested
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = schema["default"]
    assert parse_settings(nested) == Settings()


def _literal_values(annotation: Any) -> list[Any]:
    values: list[Any] = []
    for arg in typing.get_args(annotation):
        if typing.get_origin(arg) is typing.Literal:
            values.extend(typing.get_args(arg))
        elif arg is type(None):
            values.append(None)
        else:
            values.extend(_literal_values(arg))
    if typing.get_origin(annotation) is typing.Literal:
        values.extend(typing.get_args(annotation))
    return values


def test_enums_match_server_values() -> None:
    props = _server_props()
    assert props["log.level"]["enum"] == _literal_values(Settings.model_fields["log"].annotation.model_fields["level"].annotation)  # type: ignore[union-attr]
    tiers = _literal_values(ModelSettings.model_fields["tier"].annotation)
    assert props["routing.tierOrder"]["items"]["enum"] == tiers


@pytest.mark.parametrize(("key", "model"), [("models", ModelSettings), ("variants", VariantSettings)])
def test_table_items_match_server_fields(key: str, model: type[BaseModel]) -> None:
    """Each entry of a list of tables accepts exactly the server's (camelCase) fields."""
    item = _server_props()[key]["items"]
    assert set(item["properties"]) == {to_camel(n) for n in model.model_fields}
    required = {to_camel(n) for n, f in model.model_fields.items() if f.is_required()}
    assert set(item.get("required", [])) == required
    for name, field in model.model_fields.items():
        schema = item["properties"][to_camel(name)]
        if "enum" in schema:
            assert sorted(map(str, schema["enum"])) == sorted(map(str, _literal_values(field.annotation))), name
        if "default" in schema:
            assert schema["default"] == field.default, name


def test_example_model_entry_is_accepted_by_the_server() -> None:
    """A models entry written the way the extension's schema describes it parses on the server."""
    entry = {
        "name": "groq",
        "provider": "openai",
        "model": "llama-3.3-70b-versatile",
        "tier": "free",
        "baseUrl": "https://api.groq.com/openai/v1",
        "apiKeyEnv": "GROQ_API_KEY",
        "price": {"input": 0.59, "output": 0.79, "cacheRead": None},
    }
    settings = parse_settings({"models": [entry]})
    assert settings.models[0].effective_base_url == "https://api.groq.com/openai/v1"
    assert settings.models[0].price is not None and settings.models[0].price.input == 0.59
