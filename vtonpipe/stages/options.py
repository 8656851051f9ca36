"""Stage options: one frozen dataclass per stage, each field declared once with its default, help,
allowed values and whether it shapes the stage's results.

The same declaration builds the command-line flags (``add_option_flags``), validates a config
table or the flags before any row (``build_options``: unknown keys, wrong types, out-of-range or
unknown values are a ConfigError naming the key), and tells which options make an earlier row
stale (``result_params``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import typing
from collections.abc import Sequence
from typing import Any

from vtonpipe.errors import ConfigError


def option(default: Any, help: str, *, choices: Sequence[Any] | None = None, minimum: float | None = None,
           maximum: float | None = None, result: bool = False, path: bool = False) -> Any:
    """A dataclass field of a stage's Options.

    result: the option shapes the stage's output (a row made with another value is stale).
    path: a file or folder; made absolute on the driver, since actors may run on other nodes.
    """
    meta = {"help": help, "choices": tuple(choices) if choices else None, "minimum": minimum, "maximum": maximum,
            "result": result, "path": path}
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass(frozen=True)
class NoOptions:
    """A stage without options of its own."""


def _type_of(cls: type, field: dataclasses.Field) -> type:
    hint = typing.get_type_hints(cls)[field.name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args else hint


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def _describe(meta: dict[str, Any]) -> str:
    limits = []
    if meta["minimum"] is not None:
        limits.append(f">= {meta['minimum']}")
    if meta["maximum"] is not None:
        limits.append(f"<= {meta['maximum']}")
    return f" ({', '.join(limits)})" if limits else ""


def _check(cls: type, field: dataclasses.Field, value: Any, where: str) -> Any:
    kind, meta = _type_of(cls, field), field.metadata
    name = f"{where}{field.name}"
    if value is None:
        if field.default is None:
            return None
        raise ConfigError(f"{name} needs a value")
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is bool and not isinstance(value, bool) or kind is not bool and (
            not isinstance(value, kind) or isinstance(value, bool)):
        raise ConfigError(f"{name} must be {kind.__name__}, got {value!r}")
    if meta.get("choices") and value not in meta["choices"]:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, meta['choices']))}, got {value!r}")
    if meta.get("minimum") is not None and value < meta["minimum"]:
        raise ConfigError(f"{name} must be >= {meta['minimum']}, got {value!r}")
    if meta.get("maximum") is not None and value > meta["maximum"]:
        raise ConfigError(f"{name} must be <= {meta['maximum']}, got {value!r}")
    if meta.get("path") and value:
        value = os.path.abspath(os.path.expanduser(value))
    return value


def build_options(cls: type, values: dict[str, Any] | None, where: str = "") -> Any:
    """A validated instance of the Options dataclass `cls` from a dict (None values = default).

    `where` prefixes the key in messages, e.g. "[stages.tryon] ".
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {k: v for k, v in (values or {}).items() if v is not None}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        valid = ", ".join(sorted(fields)) or "none"
        raise ConfigError(f"{where}unknown option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                          f"valid options: {valid}")
    return cls(**{name: _check(cls, f, values.get(name, f.default), where) for name, f in fields.items()})


def result_params(options: Any) -> dict[str, Any]:
    """The options that shape results, by name."""
    return {f.name: getattr(options, f.name) for f in dataclasses.fields(options) if f.metadata.get("result")}


def add_option_flags(parser: argparse.ArgumentParser | argparse._ArgumentGroup, cls: type) -> None:
    """One flag per option. Every flag defaults to None, so only flags given override a config file."""
    for field in dataclasses.fields(cls):
        kind, meta = _type_of(cls, field), field.metadata
        help_text = meta["help"] + _describe(meta)
        if kind is bool:
            if field.default:
                parser.add_argument(flag_name("no_" + field.name), dest=field.name, action="store_const", const=False,
                                    default=None, help=help_text)
            else:
                parser.add_argument(flag_name(field.name), dest=field.name, action="store_const", const=True,
                                    default=None, help=help_text)
            continue
        shown = "" if field.default is None else f" (default: {field.default})"
        parser.add_argument(flag_name(field.name), dest=field.name, type=kind, default=None,
                            choices=meta["choices"], metavar=None if meta["choices"] else field.name.upper(),
                            help=help_text + shown)


def option_table(cls: type) -> str:
    """The config keys of an Options class, one line each, for --help."""
    lines = []
    for field in dataclasses.fields(cls):
        kind = _type_of(cls, field).__name__
        default = str(field.default).lower() if isinstance(field.default, bool) else repr(field.default)
        lines.append(f"  {field.name} = {default}  ({kind}) {field.metadata['help']}")
    return "\n".join(lines)

