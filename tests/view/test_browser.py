"""The page in a real browser: headless Chromium (the system's package) driven by Playwright.

One server and one browser for the module. Each test leaves a screenshot in the module's tmp dir
(`view-shots`), for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import playwright.sync_api as playwright_api
import pytest
from typer.testing import CliRunner

from gymhall.cli.main import app
from gymhall.testing import serve_in_thread
from gymhall.view.app import ViewState, create_view_app

CHROMIUM = os.environ.get("GYMHALL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# CI installs Debian's Chromium (.ci/run): a missing browser is a failure to see, never a silent skip.
assert Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}: apt-get install -y chromium (or set GYMHALL_CHROMIUM)"

TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("view-shots")


@pytest.fixture(scope="module")
def live(runs: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file the follow test appends to: the mixed run's first 10 lines for now."""
    path = tmp_path_factory.mktemp("view-live") / "live.jsonl"
    path.write_bytes(b"".join(runs.mixed.read_bytes().splitlines(keepends=True)[:10]))
    return path


@pytest.fixture(scope="module")
def url(runs: Any, live: Path) -> Iterator[str]:
    state = ViewState([runs.mixed, runs.after, runs.nemo, live], follow=True, poll_s=0.1)
    assert state.wait_ready(30)
    with serve_in_thread(create_view_app(state)) as base:
        yield base
    state.stop()


@pytest.fixture(scope="module")
def page(url: str) -> Iterator[Any]:
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})
            tab.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            tab.on("pageerror", lambda error: errors.append(str(error)))
            yield tab
            assert errors == [], f"the page raised: {errors}"
        finally:
            browser.close()


def visit(page: Any, url: str) -> None:
    """Load `url` afresh: a goto that changes only the hash would leave the previous view on screen a while."""
    page.goto("about:blank")
    page.goto(url)


def card(page: Any, testid: str) -> str:
    return str(page.get_by_test_id(testid).locator(".value").inner_text())


def test_the_summary_shows_the_numbers_of_gymhall_metrics(page: Any, url: str, runs: Any, shots: Path) -> None:
    result = CliRunner().invoke(app, ["metrics", str(runs.mixed)])
    assert result.exit_code == 0, result.output
    metrics = orjson.loads(runs.mixed.with_name("mixed_metrics.json").read_bytes())
    visit(page, url + "/#/run/0")
    page.get_by_test_id("task-row").first.wait_for()
    assert card(page, "rollouts") == str(metrics["counts"]["lines"]) == "36"
    assert card(page, "ok") == str(metrics["counts"]["ok"])
    assert card(page, "failed") == str(metrics["counts"]["failed"])
    assert card(page, "mean-reward") == f"{metrics['key_metrics']['mean/reward']:.4f}"
    assert card(page, "pass-1") == f"{metrics['key_metrics']['pass@1']:.4f}"
    assert "coverage 75.0%" in page.get_by_test_id("mean-reward").inner_text()
    assert "Cannot reach the resources server" in page.get_by_test_id("failures").inner_text()
    assert page.get_by_test_id("timings").locator("tr").count() >= 5
    assert page.get_by_test_id("histogram").count() == 3
    page.screenshot(path=shots / "summary.png", full_page=True)


def test_filters_narrow_the_task_table(page: Any, url: str, shots: Path) -> None:
    visit(page, url + "/#/run/0")
    rows = page.get_by_test_id("task-row")
    rows.first.wait_for()
    assert rows.count() == 12
    page.get_by_test_id("filter-failed").check()
    page.wait_for_function("document.querySelectorAll('[data-testid=task-row]').length === 3")
    assert [rows.nth(i).get_attribute("data-task") for i in range(3)] == ["9", "10", "11"]
    page.screenshot(path=shots / "failed-only.png", full_page=True)
    page.get_by_test_id("filter-failed").uncheck()
    page.get_by_test_id("search").fill("unreachable")
    page.wait_for_function("document.querySelectorAll('[data-testid=task-row]').length === 3")
    page.get_by_test_id("search").fill("")
    page.wait_for_function("document.querySelectorAll('[data-testid=task-row]').length === 12")
    page.locator("th[data-sort=failed]").click()  # most failures first
    page.wait_for_function("document.querySelector('[data-testid=task-row]').dataset.task === '11'")


def test_a_failed_trajectory(page: Any, url: str, shots: Path) -> None:
    visit(page, url + "/#/run/0")
    page.get_by_test_id("filter-failed").check()
    page.wait_for_function("document.querySelectorAll('[data-testid=task-row]').length === 3")
    page.get_by_test_id("task-row").first.get_by_test_id("repeat").first.click()
    failure = page.get_by_test_id("failure")
    assert "failed at seed" in failure.inner_text() and "Connection refused" in failure.inner_text()
    assert page.get_by_test_id("rollout-status").inner_text() == "failed"
    assert "total_s" in page.get_by_test_id("rollout-timings").inner_text()
    page.screenshot(path=shots / "failed-trajectory.png", full_page=True)


def test_an_ok_trajectory_with_its_tool_call(page: Any, url: str, shots: Path) -> None:
    visit(page, url + "/#/run/0/rollout/0")
    assert page.get_by_test_id("rollout-status").inner_text() == "ok"
    assert re.search(r"get_weather\(\{\s+\"city\"", page.get_by_test_id("tool-call").first.inner_text())
    assert page.get_by_test_id("step-tool").count() == 1 and page.get_by_test_id("step-model").count() == 2
    assert "answer_correct" in page.get_by_test_id("verify").inner_text()
    page.screenshot(path=shots / "trajectory.png", full_page=True)


def test_two_runs_compared_worse_first_then_side_by_side(page: Any, url: str, shots: Path) -> None:
    visit(page, url + "/#/run/0")
    page.get_by_test_id("nav-compare").click()
    assert page.get_by_test_id("compare-counts").inner_text().startswith("9 tasks worse, 0 better")
    first = page.get_by_test_id("compare-row").first
    assert first.locator(".delta-neg").inner_text() == "-1.000"
    page.screenshot(path=shots / "compare.png", full_page=True)
    first.get_by_test_id("pair").first.click()
    assert re.match(r"[1-9]\d* of \d+ steps differ", page.get_by_test_id("pair-summary").inner_text())
    assert page.get_by_test_id("pair-diff").count() >= 1
    page.screenshot(path=shots / "pair.png", full_page=True)


def test_a_nemo_gym_run(page: Any, url: str, shots: Path) -> None:
    visit(page, url + "/#/run/2")
    page.get_by_test_id("task-row").first.wait_for()
    assert card(page, "rollouts") == "6" and card(page, "failed") == "0"
    assert "input_tokens" in page.get_by_test_id("tokens").inner_text()
    visit(page, url + "/#/run/2/rollout/0")
    details = page.get_by_test_id("token-ids").first
    assert details.get_attribute("open") is None and "generation_log_probs" not in details.inner_text()  # collapsed
    details.locator("summary").click()
    assert "generation_log_probs" in details.inner_text() and "[-0.25,-1.5]" in details.inner_text()
    assert "Check the weather." in page.get_by_test_id("trajectory").inner_text()
    page.screenshot(path=shots / "nemo-trajectory.png", full_page=True)


def test_follow_shows_lines_appended_while_the_page_is_open(page: Any, url: str, runs: Any, live: Path) -> None:
    visit(page, url + "/#/run/3")
    page.get_by_test_id("task-row").first.wait_for()
    assert card(page, "rollouts") == "9"  # 10 lines, task 0 rollout 0 twice
    with live.open("ab") as handle:
        handle.write(b"".join(runs.mixed.read_bytes().splitlines(keepends=True)[10:]))
    page.wait_for_function(
        "document.querySelector('[data-testid=rollouts] .value').textContent === '36'", timeout=TIMEOUT_MS
    )
    assert card(page, "failed") == "9"


def test_rollout_text_is_shown_as_text_never_run(page: Any, url: str) -> None:
    visit(page, url + "/#/run/2/rollout/1")
    assert '<b>bold</b><img src="x"' in page.get_by_test_id("trajectory").inner_text()
    assert page.locator("[data-testid=trajectory] img").count() == 0
    assert page.evaluate("window.injected") is None
