"""One ``dagster-webserver`` for the UI tests, on the session's local services and generated sources, with a
scratch Dagster instance and lake; one headless Debian Chromium driven by Playwright."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse.settings import DEPLOYMENT_ENV_VAR, HOME_ENV_VAR, LAKE_ROOT_ENV_VAR, Deployment
from lakehouse_tests.fixtures.spark_servers import free_port
from lakehouse_tests.test_ui.webserver import Webserver, dagster_home, running_webserver

CHROMIUM = Path("/usr/bin/chromium")
# The machine's network is closed: without the background-networking flags Chromium stalls on refused
# connections (updates, sync, QUIC probes).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS_ENV_VAR = "LAKEHOUSE_UI_SCREENSHOTS"
SCREENSHOTS_KEY = pytest.StashKey[Path]()


@pytest.fixture(scope="package")
def dagster_webserver(local_services, generated_sources, tmp_path_factory) -> Iterator[Webserver]:
    """The webserver on the repository's ``workspace.yaml``; runs it launches use the same services."""
    workdir = tmp_path_factory.mktemp("dagster-webserver")
    env = {
        HOME_ENV_VAR: os.environ[HOME_ENV_VAR],  # set by local_services while it is alive
        DEPLOYMENT_ENV_VAR: Deployment.LOCAL.value,
        LAKE_ROOT_ENV_VAR: str(workdir / "lake"),
    }
    home = dagster_home(workdir / "dagster_home")
    with running_webserver(free_port(), home, workdir / "webserver.log", env) as server:
        print(f"\ndagster-webserver at {server.url}, log {server.log}")
        yield server


@pytest.fixture(scope="package")
def screenshots(tmp_path_factory, pytestconfig) -> Path:
    """``$LAKEHOUSE_UI_SCREENSHOTS`` or a directory under pytest's temp root, named in the summary."""
    configured = os.environ.get(SCREENSHOTS_ENV_VAR)
    directory = Path(configured) if configured else tmp_path_factory.mktemp("ui-screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    pytestconfig.stash[SCREENSHOTS_KEY] = directory
    return directory


@pytest.fixture(scope="package")
def chromium() -> Iterator:
    """Debian's Chromium, headless, through Playwright. Missing Chromium is a failure, not a skip."""
    from playwright.sync_api import expect, sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: the UI tests need Debian's chromium package "
            "(apt-get install chromium; `make test` installs it)",
            pytrace=False,
        )
    expect.set_options(timeout=15_000)  # pages query the webserver, which shares the machine with runs
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium, screenshots, request):
    context = chromium.new_context(viewport={"width": 1600, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    if getattr(request.node, "failed_call", False):
        page.screenshot(path=str(screenshots / f"{request.node.name}-failure.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        item.failed_call = True
        server = item.funcargs.get("dagster_webserver")
        if server is not None:
            report.sections.append((f"dagster-webserver log ({server.log})", server.log_text()))


def pytest_terminal_summary(terminalreporter, config):
    directory = config.stash.get(SCREENSHOTS_KEY, None)
    if directory is not None:
        terminalreporter.write_line(f"UI screenshots in {directory}")
