"""Waiting for a detached server to become ready, and stopping one by pid."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from lakehouse.services.state import ServiceRecord, port_accepts_connections, port_is_free
from lakehouse.services.status import ServiceError

POLL_INTERVAL_SECONDS = 0.05
STOP_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class RunningService:
    pid: int
    port: int


def command_line(pid: int) -> list[str] | None:
    """The command line of a live process, or None if it is gone, a zombie or not ours to read."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def find_server(
    record: ServiceRecord, identify: Callable[[int], RunningService | None]
) -> RunningService | None:
    """The server of one service, if one is alive: ``identify`` tells whether a pid is it. The recorded pid is
    tried first; if it is gone or now belongs to another program, the process table is searched, so a server
    whose state file was lost is still found (and not started twice on the same files)."""
    if record.pid is not None:
        found = identify(record.pid)
        if found:
            return found
    for process in psutil.process_iter():
        found = identify(process.pid)
        if found:
            return found
    return None


def start_detached(
    command: Sequence[str],
    *,
    host: str,
    port: int,
    service: str,
    what: str,
    cwd: Path,
    log_path: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> int:
    """Start a server that outlives this process (its own session, so neither this process's exit nor its
    terminal's Ctrl-C stops it), its output appended to ``log_path``; return its pid once ``host:port``
    accepts connections. ``service`` names it in errors, ``what`` describes it while it starts."""
    if not port_is_free(host, port):
        raise ServiceError(f"{service}: port {port} on {host} is already in use by another process")
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
    wait_until_ready(
        lambda: port_accepts_connections(host, port),
        process,
        what=f"{what} on {host}:{port}",
        log_path=log_path,
        timeout=timeout,
    )
    return process.pid


def wait_until_ready(
    is_ready: Callable[[], bool],
    process: subprocess.Popen,
    *,
    what: str,
    log_path: Path,
    timeout: float,
) -> None:
    """Poll ``is_ready`` until it holds; fail fast with the log's path if the process dies or times out."""
    deadline = time.monotonic() + timeout
    while not is_ready():
        exit_code = process.poll()
        if exit_code is not None:
            raise ServiceError(f"{what} exited with code {exit_code} while starting; read {log_path}")
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise ServiceError(f"{what} was not ready after {timeout:.0f} s; read {log_path}")
        time.sleep(POLL_INTERVAL_SECONDS)


def stop_process(pid: int, *, what: str) -> None:
    """SIGTERM, wait for the process to exit, SIGKILL if it does not within the timeout."""
    try:
        process = psutil.Process(pid)
        process.terminate()
    except psutil.NoSuchProcess:
        return
    if wait_until_exited(process, STOP_TIMEOUT_SECONDS):
        return
    try:
        process.kill()
    except psutil.NoSuchProcess:
        return
    if not wait_until_exited(process, STOP_TIMEOUT_SECONDS):
        raise ServiceError(f"{what} (pid {pid}) did not stop even after SIGKILL")


def wait_until_exited(process: psutil.Process, timeout: float) -> bool:
    """True once the process has exited, all of its threads included.

    A zombie counts once it is the last thread left: it holds no files or ports any more. The main thread
    of a killed process can turn zombie while its other threads are still exiting, and the last of them
    closes the process's sockets. ``psutil.Process.wait`` would also wait for a zombie that is not our
    child to be reaped by its new parent, which some container init processes do only every second or two.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if process.status() == psutil.STATUS_ZOMBIE and process.num_threads() <= 1:
                _reap_if_child(process.pid)
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(POLL_INTERVAL_SECONDS)
    return False


def _reap_if_child(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass  # not our child: its parent reaps it
