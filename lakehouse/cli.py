"""The ``lakehouse`` command: local services, synthetic data, an end-to-end demo, and the Dagster UI.

Errors are one line naming the cause, with a non-zero exit; ``--traceback`` shows the full stack.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

console = Console(highlight=False)
error_console = Console(stderr=True, highlight=False)


@contextmanager
def step(title: str) -> Iterator[None]:
    """Print a step, then how long it took, so long work shows progress."""
    console.print(f"[bold cyan]▸[/] {title} …")
    started = time.perf_counter()
    yield
    console.print(f"  [green]done[/] in {time.perf_counter() - started:.1f}s")


def _progress(message: str, counts: dict | None = None) -> None:
    detail = ""
    if counts:
        detail = "  " + ", ".join(f"{k.split('.')[-1].lower()}={v:,}" for k, v in counts.items())
    console.print(f"  [dim]·[/] {message}{detail}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--traceback", is_flag=True, help="Show the full stack trace on errors.")
@click.pass_context
def cli(ctx: click.Context, traceback: bool) -> None:
    """A Dagster medallion lakehouse on Delta Lake: bronze, silver and gold, on a laptop or a cluster."""
    from lakehouse.settings import deployment

    deployment()  # a bad LAKEHOUSE_ENV fails here, before any work
    ctx.obj = {"traceback": traceback}


# ------------------------------------------------------------------------------------------ services


@cli.group()
def services() -> None:
    """Local stand-ins for the sources: fakesnow (Snowflake) and embedded PostgreSQL (Redshift)."""


def _print_services(statuses) -> None:
    table = Table(show_header=True, header_style="bold")
    for column in ("service", "engine", "state", "address", "pid", "data"):
        table.add_column(column)
    for status in statuses:
        state = "[green]running[/]" if status.running else f"[yellow]{status.state.value}[/]"
        table.add_row(
            status.name,
            status.engine,
            state,
            status.address if status.running else "-",
            str(status.pid or "-"),
            str(status.data_path),
        )
    console.print(table)


@services.command("up")
def services_up() -> None:
    """Start the local services (reuses running ones)."""
    from lakehouse.services import LocalServices

    with step("starting local services"):
        statuses = LocalServices().up(progress=_progress)
    _print_services(statuses)


@services.command("down")
def services_down() -> None:
    """Stop the local services."""
    from lakehouse.services import LocalServices

    with step("stopping local services"):
        statuses = LocalServices().down(progress=_progress)
    _print_services(statuses)


@services.command("status")
def services_status() -> None:
    """Show each local service: state, address, pid, data directory."""
    from lakehouse.services import LocalServices

    _print_services(LocalServices().status())


# ---------------------------------------------------------------------------------------- generate

_generate_options = [
    click.option("--scale-factor", "-s", type=float, default=0.01, show_default=True,
                 help="1.0 ≈ 10k customers, 1k products, 100k orders and 1M events per day."),
    click.option("--days", "-d", type=click.IntRange(min=1), default=3, show_default=True,
                 help="Number of days of source changes."),
    click.option("--seed", type=click.IntRange(min=0), default=42, show_default=True),
    click.option("--dirt", type=click.FloatRange(0.0, 0.5), default=0.01, show_default=True,
                 help="Fraction of invalid rows injected (listed in the defect manifest)."),
    click.option("--start-date", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                 help="First day (default 2026-01-01, the first partition)."),
    click.option("--replace", is_flag=True,
                 help="Start the sources (and, for demo, the local lake) over when they hold another generation."),
]


def generate_options(function):
    for option in reversed(_generate_options):
        function = option(function)
    return function


def generate_and_load(
    scale_factor: float, days: int, seed: int, dirt: float, start_date: date | None, replace: bool = False
):
    """Generate the sources and load them into the running local services."""
    from lakehouse.generator import (
        DEFAULT_START_DATE,
        GenerationMismatchError,
        default_output_dir,
        generate,
        load_redshift,
        load_snowflake,
    )
    from lakehouse.services import LocalServices

    local = LocalServices()
    with step("starting local services"):
        local.up(progress=_progress)
    out_dir = default_output_dir()
    with step(f"generating SF {scale_factor:g} × {days} day(s), seed {seed}, dirt {dirt:g} → {out_dir}"):
        data = generate(
            scale_factor=scale_factor,
            days=days,
            seed=seed,
            dirt=dirt,
            start_date=start_date or DEFAULT_START_DATE,
            out_dir=out_dir,
            progress=_progress,
        )
    try:
        with step("loading Snowflake tables into fakesnow"):
            with local.snowflake_paused() as db_dir:
                load_snowflake(data.batches, db_dir, replace=replace, progress=_progress)
        with step("loading Redshift events into PostgreSQL"):
            load_redshift(data.batches, local.postgres_dsn(), replace=replace, progress=_progress)
    except GenerationMismatchError as error:
        raise click.ClickException(
            f"the local sources hold another generation of data; pass --replace to start them over ({error})"
        ) from error
    return data


@cli.command()
@generate_options
def generate(scale_factor: float, days: int, seed: int, dirt: float, start_date, replace: bool) -> None:
    """Generate deterministic synthetic source data and load it into the local services."""
    data = generate_and_load(scale_factor, days, seed, dirt, start_date.date() if start_date else None, replace)
    console.print(f"[bold]{len(data.defects):,}[/] injected defects listed in the manifest")


# -------------------------------------------------------------------------------------------- demo


@cli.command()
@generate_options
def demo(scale_factor: float, days: int, seed: int, dirt: float, start_date, replace: bool) -> None:
    """Services up, generate, materialize every asset for the generated days, print the results."""
    from lakehouse.demo import materialize_days, print_summary, reset_local_lake

    if replace:
        with step("starting the local lake over (--replace)"):
            reset_local_lake()
    data = generate_and_load(scale_factor, days, seed, dirt, start_date.date() if start_date else None, replace)
    partition_days = [batch.commit_date for batch in data.batches]
    results = materialize_days(partition_days, progress=_progress, step=step)
    print_summary(console, results)
    if not all(r.success for r in results):
        raise click.ClickException("at least one run failed; see the Dagster UI (`lakehouse dev`) for details")


# --------------------------------------------------------------------------------------------- sql


@cli.command()
@click.argument("query")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Rows to print.")
def sql(query: str, limit: int) -> None:
    """Run a Spark SQL query over the lake; every table is a view named <layer>_<table> (gold_fact_orders)."""
    from lakehouse.lake_views import register_lake_views
    from lakehouse.resources import engine_resource

    spark = engine_resource().spark_session
    views = register_lake_views(spark)
    if not views:
        raise click.ClickException("the lake holds no tables yet: run `lakehouse demo` first")
    result = spark.sql(query)
    rows = result.limit(limit).collect()
    table = Table(header_style="bold")
    for name in result.columns:
        table.add_column(name)
    for row in rows:
        table.add_row(*("NULL" if value is None else str(value) for value in row))
    console.print(table)


# --------------------------------------------------------------------------------------------- dev


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def dev(ctx: click.Context) -> None:
    """Services up, then the Dagster UI (`dagster dev`) on the lakehouse definitions."""
    from lakehouse.demo import dagster_home
    from lakehouse.services import LocalServices

    with step("starting local services"):
        LocalServices().up(progress=_progress)
    home = dagster_home()
    os.environ["DAGSTER_HOME"] = str(home)
    command = [sys.executable, "-m", "dagster", "dev", "-m", "lakehouse.definitions", *ctx.args]
    console.print(f"[bold cyan]▸[/] dagster dev -m lakehouse.definitions {' '.join(ctx.args)}  (DAGSTER_HOME={home})")
    os.execv(command[0], command)


# -------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    # BackfillPolicy.single_run is what makes a multi-day window one run; its beta notice is not news.
    warnings.filterwarnings("ignore", message="Parameter `backfill_policy`")
    show_traceback = "--traceback" in args
    try:
        cli.main(args=args, prog_name="lakehouse", standalone_mode=False)
    except click.exceptions.Abort:
        error_console.print("[red]aborted[/]")
        sys.exit(130)
    except click.ClickException as error:
        error_console.print(f"[red]error:[/] {error.format_message()}")
        sys.exit(error.exit_code or 1)
    except Exception as error:  # one clear line for users; the stack with --traceback
        if show_traceback:
            raise
        cause = f" (caused by {type(error.__cause__).__name__}: {error.__cause__})" if error.__cause__ else ""
        error_console.print(f"[red]error:[/] {type(error).__name__}: {error}{cause}")
        sys.exit(1)


if __name__ == "__main__":
    main()
