"""The path options every `burnwatch` command shares, defined once.

Each can also be set by its environment variable (the same ones the Dagster
resources read), so the CLI, `dagster dev` and `dagster asset materialize`
see the same data.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from pipelines.settings import ENV_DATA_DIR, ENV_MANIFEST, ENV_WAREHOUSE

_F = TypeVar("_F", bound=Callable[..., Any])


def path_option(name: str, env: str, help_text: str, required: bool = True) -> Callable[[_F], _F]:
    """A `--<name>` folder or file option, falling back to the environment variable `env`."""
    return click.option(
        f"--{name}",
        type=click.Path(path_type=Path),
        envvar=env,
        required=required,
        show_envvar=True,
        help=help_text,
    )


def manifest_option() -> Callable[[_F], _F]:
    return path_option("manifest", ENV_MANIFEST, "The SLO manifest, slos.yaml.")


def warehouse_option(help_text: str) -> Callable[[_F], _F]:
    return path_option("warehouse", ENV_WAREHOUSE, help_text)


def data_option(help_text: str, required: bool = True) -> Callable[[_F], _F]:
    return path_option("data", ENV_DATA_DIR, help_text, required)


def quiet_option() -> Callable[[_F], _F]:
    """`--quiet`: no progress lines (the result is still printed)."""
    return click.option(
        "--quiet", "-q", is_flag=True, help="Print no progress lines, only the result."
    )
