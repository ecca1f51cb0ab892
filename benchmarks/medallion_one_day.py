"""Time one day of the whole medallion at a scale factor, layer by layer, on fresh local services.

    python benchmarks/medallion_one_day.py [scale_factor]

Uses a scratch LAKEHOUSE_HOME that it removes afterwards; prints one line per step.
"""

import os
import shutil
import sys
import tempfile
import time
import warnings


def main(scale_factor: float) -> None:
    warnings.filterwarnings("ignore", message="Parameter `backfill_policy`")
    home = tempfile.mkdtemp(prefix="lakehouse-bench-")
    os.environ["LAKEHOUSE_HOME"] = home
    import dagster as dg

    from lakehouse.definitions import defs
    from lakehouse.generator import GeneratorConfig, generate_data, load_redshift, load_snowflake
    from lakehouse.services import LocalServices

    services = LocalServices()

    def timed(label: str, action):
        started = time.perf_counter()
        result = action()
        print(f"{label:<40} {time.perf_counter() - started:6.1f} s", flush=True)
        return result

    try:
        timed("services up", services.up)
        data = timed(f"generate SF {scale_factor:g} x 1 day", lambda: generate_data(GeneratorConfig(scale_factor, days=1)))

        def load_snowflake_sources():
            with services.snowflake_paused() as db_dir:
                load_snowflake(data.batches, db_dir)

        timed("load fakesnow", load_snowflake_sources)
        timed("load PostgreSQL", lambda: load_redshift(data.batches, services.postgres_dsn()))
        definitions = defs()
        quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
        with dg.DagsterInstance.ephemeral() as instance:
            for label, selection in (
                ("bronze + quarantine", dg.AssetSelection.groups("bronze", "quarantine")),
                ("silver", dg.AssetSelection.groups("silver")),
                ("gold", dg.AssetSelection.groups("gold")),
            ):
                result = timed(
                    label,
                    lambda selection=selection: dg.materialize(
                        list(definitions.assets),
                        resources=definitions.resources,
                        partition_key=data.batches[0].commit_date.isoformat(),
                        selection=selection,
                        instance=instance,
                        run_config=quiet,
                        raise_on_error=False,
                    ),
                )
                failed = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
                if not result.success or failed:
                    raise SystemExit(f"{label} failed (checks failed: {failed})")
    finally:
        services.down()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
