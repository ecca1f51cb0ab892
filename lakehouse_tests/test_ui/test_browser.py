"""The Dagster UI as a user drives it, in a headless Chromium: the lineage shows every layer, the user opens
bronze/customers from the catalog, materializes partition 2026-01-01, follows the run to success and
reads every check's result on the asset's Checks tab. A screenshot is saved at each step."""

import re

import pytest
from playwright.sync_api import Page, expect

from lakehouse_tests.test_ui.webserver import asset_nodes, run_failures, wait_for_run

pytestmark = pytest.mark.browser

LAYERS = ("bronze", "quarantine", "silver", "gold")
ASSET = "bronze/customers"
WRITTEN_WITH = "quarantine/customers"  # the same multi-asset writes both
PARTITION = "2026-01-01"
RUN_TIMEOUT_S = 180
# launching waits for the run's process to start; the machine may be busy
LAUNCH_TIMEOUT_MS = 90_000


class Steps:
    """Numbered screenshots of the user's steps."""

    def __init__(self, page: Page, directory, name: str) -> None:
        self.page, self.directory, self.name, self.count = page, directory, name, 0

    def shot(self, step: str) -> None:
        self.count += 1
        self.page.screenshot(path=str(self.directory / f"{self.name}-{self.count:02d}-{step}.png"))


def test_materialize_a_partition_and_read_its_checks(page: Page, dagster_webserver, screenshots):
    assets = asset_nodes(dagster_webserver)
    asset = assets[ASSET]
    groups = sorted({a.group for a in assets.values()})
    assert set(LAYERS) <= set(groups)
    steps = Steps(page, screenshots, "materialize-partition")

    # 1. The global asset lineage shows every layer's group.
    page.goto(dagster_webserver.url)
    page.get_by_role("link", name="Lineage").click()
    expect(page.get_by_text("Global asset lineage")).to_be_visible()
    for group in groups:
        expect(page.get_by_role("button", name=f"asset_group {group}")).to_be_visible()
    steps.shot("lineage")

    # 2. The catalog leads to the asset.
    page.get_by_role("link", name="Catalog").click()
    page.get_by_role("link", name=ASSET.replace("/", " / ")).first.click()
    expect(page).to_have_url(re.compile(f"/assets/{ASSET}"))
    steps.shot("asset")

    # 3. Materialize: the multi-asset also writes quarantine/customers, which the UI asks to confirm.
    page.get_by_role("button", name="Materialize…").click()
    dialog = page.get_by_role("dialog").filter(has_text="Additional assets will be materialized")
    expect(dialog.get_by_role("link", name=WRITTEN_WITH.replace("/", " / "))).to_be_visible()
    steps.shot("additional-assets")
    dialog.get_by_role("button", name="Confirm").click()

    # 4. Pick the one partition (older than the last 90 days the dialog shows first) and launch one run.
    dialog = page.get_by_role("dialog").filter(has_text="Launch runs to materialize 2 assets")
    partitions = dialog.get_by_role("textbox").first
    expect(partitions).to_be_visible()
    show_all = dialog.get_by_role("button", name="Show all partitions")
    if show_all.count():  # the partition is older than the range the dialog shows first
        show_all.click()
    partitions.fill(PARTITION)
    partitions.press("Enter")
    expect(dialog).to_contain_text("1 partition")
    steps.shot("partition-selected")
    dialog.get_by_role("button", name="Launch 1 run").click()

    # 5. Follow the run from the notification to its page, until it succeeds.
    notification = page.get_by_role("region", name=re.compile("Notifications"))
    expect(notification).to_contain_text("Launched run", timeout=LAUNCH_TIMEOUT_MS)
    notification.get_by_role("link", name="View").click()
    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]{36}"))
    run_id = re.search(r"/runs/([0-9a-f-]{36})", page.url).group(1)
    expect(page.get_by_text(f"partition: {PARTITION}")).to_be_visible()
    expect(page.get_by_text("2 assets", exact=True)).to_be_visible()
    checks_in_run = len(asset.checks) + len(assets[WRITTEN_WITH].checks)
    expect(page.get_by_text(f"{checks_in_run} checks", exact=True)).to_be_visible()
    steps.shot("run-started")
    run = wait_for_run(dagster_webserver, run_id, timeout=RUN_TIMEOUT_S)
    assert run["status"] == "SUCCESS", run_failures(dagster_webserver, run_id)
    # the page follows the run live; on a loaded machine its stream can lag behind the finished run
    page.reload()
    expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=LAUNCH_TIMEOUT_MS)
    steps.shot("run-succeeded")

    # 6. The asset's Checks tab lists every check the definitions declare, each passed in this run.
    page.get_by_role("link", name="Catalog").click()
    page.get_by_role("link", name=ASSET.replace("/", " / ")).first.click()
    page.get_by_role("tab", name="Checks").click()
    expect(page.get_by_text(f"Checks ({len(asset.checks)})")).to_be_visible()
    steps.shot("checks")
    results = {}
    for check in asset.checks:
        page.get_by_text(check, exact=True).first.click()
        expect(page).to_have_url(re.compile(f"checkDetail={check}"))
        # the latest execution shown is the one of the run launched above
        timestamp = page.get_by_text("Timestamp", exact=True).locator("xpath=following-sibling::a")
        expect(timestamp).to_have_attribute("href", re.compile(f"/runs/{run_id}"))
        result = page.get_by_text("Evaluation result", exact=True).locator("xpath=following-sibling::*[1]")
        results[check] = result.inner_text().strip()
        steps.shot(f"check-{check}")
    page.get_by_role("tab", name="Execution history").click()
    steps.shot("check-execution-history")
    assert results == {check: "Passed" for check in asset.checks}
