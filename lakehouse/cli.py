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
    """Local stand-ins for the sources: fakesnow (Snowflake) and embedded PostgreSQL (Redshift); on request
    a local Sail cluster (Spark)."""


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
@click.option("--cluster", is_flag=True,
              help="Also start a local Sail cluster (a driver and two workers) for LAKEHOUSE_ENGINE=cluster.")
def services_up(cluster: bool) -> None:
    """Start the local services (reuses running ones)."""
    _print_services(_start_services(cluster=cluster))


def _require_development_kit(purpose: str = "the local services") -> None:
    """A clear one-line error when the development kit (lakehouse[local]) a local command needs is missing."""
    from rich.markup import escape

    from lakehouse.development_kit import DevelopmentKitMissingError, require

    try:
        require(purpose)
    except DevelopmentKitMissingError as error:
        # escaped: errors are printed with rich, which would take "[local]" for markup
        raise click.ClickException(escape(str(error))) from None


def _start_services(cluster: bool = False, local=None):
    """Start the local services (and the Sail cluster with ``cluster``), showing progress; their statuses."""
    _require_development_kit()
    from lakehouse.services import LocalServices

    with step("starting local services" + (" and the Sail cluster" if cluster else "")):
        return (local or LocalServices()).up(progress=_progress, cluster=cluster)


@services.command("down")
def services_down() -> None:
    """Stop the local services, the Sail cluster included."""
    _require_development_kit()
    from lakehouse.services import LocalServices

    local = LocalServices()
    with step("stopping local services"):
        local.down(progress=_progress)
    _print_services(local.status())


@services.command("status")
def services_status() -> None:
    """Show each local service, the Sail cluster included: state, address, pid, data directory."""
    _require_development_kit()
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
    scale_factor: float,
    days: int,
    seed: int,
    dirt: float,
    start_date: date | None,
    replace: bool = False,
    cluster: bool = False,
):
    """Start the local services (with the Sail cluster if asked), generate the sources and load them."""
    _require_development_kit("the local services and the data generator")
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
    _start_services(cluster, local)
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

_engine_option = click.option(
    "--engine", type=click.Choice(["embedded", "cluster"]), default="embedded", show_default=True,
    help="embedded: Sail in this process; cluster: the local Sail cluster (started if it is not running).",
)


def _choose_engine(engine: str) -> bool:
    """For ``cluster``, choose the local Sail cluster for every engine this process (and its children)
    builds (the definitions read ``LAKEHOUSE_ENGINE`` when they are built); whether it must be started."""
    if engine != "cluster":
        return False
    from lakehouse.resources import ENGINE_MODE_ENV_VAR, LOCAL_CLUSTER_ENGINE

    os.environ[ENGINE_MODE_ENV_VAR] = LOCAL_CLUSTER_ENGINE
    return True


@cli.command()
@generate_options
@_engine_option
def demo(
    scale_factor: float, days: int, seed: int, dirt: float, start_date, replace: bool, engine: str
) -> None:
    """Services up, generate, materialize every asset for the generated days, print the results."""
    from lakehouse.operations.demo import materialize_days, print_summary, reset_local_lake

    if replace:
        with step("starting the local lake over (--replace)"):
            reset_local_lake()
    cluster = _choose_engine(engine)
    first_day = start_date.date() if start_date else None
    data = generate_and_load(scale_factor, days, seed, dirt, first_day, replace, cluster=cluster)
    partition_days = [batch.commit_date for batch in data.batches]
    results = materialize_days(partition_days, _code_location(), progress=_progress, step=step)
    print_summary(console, results)
    if not all(r.success for r in results):
        raise click.ClickException("at least one run failed; see the Dagster UI (`lakehouse dev`) for details")


# --------------------------------------------------------------------------------------------- sql


@cli.command()
@click.argument("query")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Rows to print.")
def sql(query: str, limit: int) -> None:
    """Run a Spark SQL query over the lake; every table is a view named <layer>_<table> (gold_fact_orders)."""
    from lakehouse.operations.sql import register_lake_views
    from lakehouse.resources import operator_engine

    spark = operator_engine().spark_session
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
@_engine_option
@click.pass_context
def dev(ctx: click.Context, engine: str) -> None:
    """Services up, then the Dagster UI (`dagster dev`) on the lakehouse definitions."""
    from lakehouse.operations.runs import dagster_home

    _start_services(cluster=_choose_engine(engine))
    home = dagster_home()
    os.environ["DAGSTER_HOME"] = str(home)
    command = [sys.executable, "-m", "dagster", "dev", "-m", "lakehouse.definitions", *ctx.args]
    console.print(f"[bold cyan]▸[/] dagster dev -m lakehouse.definitions {' '.join(ctx.args)}  (DAGSTER_HOME={home})")
    os.execv(command[0], command)


# -------------------------------------------------------------------------------------- operations

_EMPTY_LAKE = "the lake holds no tables yet: run `lakehouse demo` or `lakehouse backfill` first"


def _code_location():
    """The code location's definitions, as ``dagster dev`` loads them."""
    from lakehouse.definitions import defs
    from lakehouse.operations.runs import dagster_notices_hidden

    with dagster_notices_hidden():
        return defs()


def _table_key_or_error(key: str):
    from lakehouse.resources import operator_lake

    try:
        return operator_lake().lake_table(key)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="TABLE") from error


def _human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


@cli.command()
@click.option("--start", "start", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
              help="First day (a _run_date partition), included.")
@click.option("--end", "end", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
              help="Last day, included.")
@click.option("--select", "select", multiple=True, metavar="LAYER/TABLE[+]",
              help="Only these assets; a trailing + adds everything downstream (repeatable). "
                   "Default: every asset.")
@click.option("--continue-on-failure", is_flag=True,
              help="Run the later days even after a day failed "
                   "(default: stop, since later days build on it).")
def backfill(start, end, select: tuple[str, ...], continue_on_failure: bool) -> None:
    """Run lakehouse_daily_job for every day from --start to --end, oldest first, one run per day."""
    from lakehouse.operations.runs import day_range, run_days

    try:
        days = day_range(start.date(), end.date())
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--start/--end") from error
    console.print(f"[bold]backfill[/] {days[0]} to {days[-1]}: {len(days)} day(s), "
                  f"{'assets ' + ', '.join(select) if select else 'every asset'}")
    try:
        results = run_days(
            days,
            select,
            definitions=_code_location(),
            progress=_progress,
            step=step,
            stop_on_failure=not continue_on_failure,
        )
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--select") from error
    failed = [r for r in results if not r.success]
    console.print(f"{len(results) - len(failed)} of {len(days)} day(s) succeeded")
    if failed or len(results) < len(days):
        raise click.ClickException(
            f"backfill incomplete: {', '.join(r.day.isoformat() for r in failed)} failed; "
            "see the runs in the "
            "Dagster UI (`lakehouse dev`), fix the cause and run the backfill again from the first failed day"
        )


@cli.group()
def table() -> None:
    """The lake's Delta tables (named <layer>/<table>): sizes, history, restore to a version."""


@table.command("list")
def table_list() -> None:
    """Every Delta table of the lake: version, live files and bytes."""
    from lakehouse.resources import operator_lake

    lake = operator_lake()
    tables = lake.tables()
    if not tables:
        raise click.ClickException(_EMPTY_LAKE)
    out = Table(header_style="bold")
    for column in ("table", "version", "files", "size"):
        out.add_column(column, justify="right" if column != "table" else "left")
    for item in tables:
        delta = lake.open(item.uri)
        stats = lake.live_files(delta)
        out.add_row(item.key, str(delta.version()), f"{stats.files:,}", _human_bytes(stats.bytes))
    console.print(out)


@table.command("history")
@click.argument("key", metavar="TABLE")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="Newest versions to show.")
def table_history(key: str, limit: int) -> None:
    """A table's Delta versions, newest first, with the Dagster partition and run that wrote each."""
    from lakehouse.operations.runs import local_instance, materialized_versions
    from lakehouse.operations.tables import table_history as history

    item = _table_key_or_error(key)
    entries = history(item, limit)
    with local_instance() as instance:
        written_by = materialized_versions(instance, item.asset_key_path)
    out = Table(title=f"{item.key} ({item.uri})", header_style="bold")
    for column in ("version", "time (UTC)", "operation", "rows / files", "partition", "run"):
        out.add_column(column)
    for entry in entries:
        partition, run_id = written_by.get(entry.version, ("-", "-"))
        if entry.custom.get("lakehouse.operation") == "reject":
            partition = f"rejected v{entry.custom.get('lakehouse.rejected_version', '?')}"
        elif entry.operation == "RESTORE" or "lakehouse.restored_to" in entry.custom:
            target = entry.custom.get("lakehouse.restored_to", entry.parameters.get("version", "?"))
            partition = f"restored to v{target}"
        out.add_row(
            str(entry.version),
            entry.timestamp.strftime("%Y-%m-%d %H:%M:%S"),
            entry.operation,
            _history_metrics(entry.metrics),
            partition,
            run_id[:8] if run_id != "-" else "-",
        )
    console.print(out)


def _history_metrics(metrics: dict) -> str:
    parts = []
    for label, names in (
        ("rows", ("numOutputRows", "num_inserted_rows", "numTargetRowsInserted")),
        ("updated", ("numTargetRowsUpdated", "num_updated_rows")),
        ("+files", ("numAddedFiles", "numFilesAdded", "numOutputFiles", "num_restored_file")),
        ("-files", ("numRemovedFiles", "numFilesRemoved", "num_removed_file")),
    ):
        value = next((metrics[name] for name in names if name in metrics), None)
        if value not in (None, 0, "0"):
            parts.append(f"{label} {value}")
    return ", ".join(parts) or "-"


@table.command("restore")
@click.argument("key", metavar="TABLE")
@click.option("--version", "version", type=click.IntRange(min=0), required=True,
              help="The version to go back to.")
@click.option("--reason", default=None, help="Why, recorded in the restore's commit.")
def table_restore(key: str, version: int, reason: str | None) -> None:
    """Make an earlier version the table's current content (a new version: a restore can be undone)."""
    from lakehouse.operations.tables import restore_table

    item = _table_key_or_error(key)
    with step(f"restoring {item.key} to version {version}"):
        outcome = restore_table(item, version, reason)
    console.print(
        f"{item.key}: version {outcome.version_before} → [bold]{outcome.version_after}[/] "
        f"(the content of version {outcome.restored_to}); undo with "
        f"`lakehouse table restore {item.key} --version {outcome.version_before}`"
    )


@cli.group()
def quarantine() -> None:
    """The quarantine lane: rows that broke their bronze contract."""


@quarantine.command("counts")
@click.argument("tables", nargs=-1, metavar="[TABLE]...")
def quarantine_counts(tables: tuple[str, ...]) -> None:
    """Rows in bronze and in quarantine per source table and day, with the rules broken."""
    from lakehouse.lake import TableNotFound
    from lakehouse.operations.quarantine import quarantine_days

    try:
        days = quarantine_days(list(tables) or None)
    except TableNotFound as error:
        raise click.ClickException(str(error)) from error
    if not days:
        raise click.ClickException(_EMPTY_LAKE)
    out = Table(header_style="bold")
    for column in ("table", "day", "bronze", "quarantined", "rules broken"):
        out.add_column(column, justify="right" if column in ("bronze", "quarantined") else "left")
    for day in days:
        rules = ", ".join(f"{rule} {count}" for rule, count in day.rules.most_common())
        label = day.day.isoformat() if day.day else "undated"
        out.add_row(day.table, label, f"{day.bronze_rows:,}", f"{day.quarantined_rows:,}", rules or "-")
    console.print(out)
    console.print(f"{sum(d.quarantined_rows for d in days):,} row(s) quarantined in total")


@cli.command()
@click.option("--table", "tables", multiple=True, metavar="LAYER/TABLE",
              help="Only these tables (repeatable).")
@click.option("--retention-hours", type=int, default=168, show_default=True,
              help="Vacuum keeps files younger versions need for this long; at least 168 (7 days).")
def maintain(tables: tuple[str, ...], retention_hours: int) -> None:
    """Compact (Z-order the facts by customer_key) and vacuum the lake's tables, as the weekly job does."""
    from lakehouse.lake.maintenance import (
        MaintenancePlan,
        RetentionTooShort,
        maintain_table,
        tables_to_maintain,
    )
    from lakehouse.resources import operator_lake

    try:
        plan = MaintenancePlan(retention_hours=retention_hours)
    except RetentionTooShort as error:
        raise click.BadParameter(str(error), param_hint="--retention-hours") from error
    lake = operator_lake()
    chosen = tables_to_maintain(lake, tables=list(tables))
    if not chosen:
        raise click.ClickException(_EMPTY_LAKE)
    out = Table(header_style="bold")
    for column in ("table", "strategy", "files", "size", "vacuumed"):
        out.add_column(column)
    with step(f"maintaining {len(chosen)} table(s), vacuum retention {retention_hours} h"):
        for item in chosen:
            result = maintain_table(item, plan, lake)
            files = f"{result.live_before.files} → {result.live_after.files} files"
            _progress(f"{item.key}: {result.strategy}, {files}")
            out.add_row(
                item.key,
                result.strategy,
                f"{result.live_before.files:,} → {result.live_after.files:,}",
                f"{_human_bytes(result.live_before.bytes)} → {_human_bytes(result.live_after.bytes)}",
                f"{result.files_vacuumed:,}",
            )
    console.print(out)


# ------------------------------------------------------------------------------------------- bench


@cli.command()
@click.option("--scale-factor", "scale_factors", type=float, multiple=True, metavar="SF",
              help="Scale factor to measure (repeatable)  [default: 1 and 10]")
@click.option("--repeat", type=int, default=3, show_default=True, help="Runs per scenario; figures are medians.")
@click.option("--only", "only", multiple=True, type=click.Choice(["medallion", "bare", "classic", "cluster"]),
              help="Only these scenarios (repeatable); bare and classic still need one untimed day of data; "
                   "cluster (up to SF 1) alternates day 1 on the local Sail cluster with day 1 on embedded Sail.")
@click.option("--days", type=int, default=7, show_default=True, help="Days per medallion run; day N vs day 1.")
@click.option("--large-scale-days", type=int, default=2, show_default=True,
              help="Days per medallion run at scale factors above 1.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("BENCHMARKS.md"),
              show_default=True, help="Where the report is written.")
def bench(
    scale_factors: tuple[float, ...], repeat: int, only: tuple[str, ...], days: int, large_scale_days: int, output: Path
) -> None:
    """Benchmark the medallion: Dagster run vs bare transforms, Sail vs classic Spark, day N vs day 1, the
    local Sail cluster vs embedded Sail."""
    _require_development_kit("the benchmarks (on the local services)")
    from lakehouse.benchmarks.harness import run_benchmarks

    factors = scale_factors or (1.0, 10.0)
    command = "lakehouse bench " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["bench"] else "lakehouse bench"
    with step(f"benchmarking SF {', '.join(f'{f:g}' for f in factors)}, {repeat} run(s) each"):
        try:
            report = run_benchmarks(factors, repeat=repeat, only=only, days=days, large_scale_days=large_scale_days,
                                    output=output, command=command.strip(), progress=_progress)  # fmt: skip
        except ValueError as error:
            raise click.BadParameter(str(error)) from error
    table = Table(header_style="bold")
    for column in ("SF", "figure", "median", "target", "verdict"):
        table.add_column(column)
    for row in report.rows:
        value = "n/a" if row["median"] is None else f"{row['median']:,.2f} {row['unit']}"
        verdict = {"met": "[green]met[/]", "MISSED": "[red]MISSED[/]"}.get(row["verdict"], "")
        table.add_row(f"{row['scale_factor']:g}", row["figure"], value, row["target"], verdict)
    console.print(table)
    console.print(f"report written to [bold]{output}[/]")


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
