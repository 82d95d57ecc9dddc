"""`explore serve` in a real browser: headless Chromium, driven by selenium, clicks through 2PC.

Skipped only where Chromium (Debian's `chromium` + `chromium-driver`) is missing; `.ci/run` installs it.
Set EXPLORE_SERVE_SCREENSHOTS=DIR to keep the screenshots the test takes (else they go to tmp_path).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from .conftest import ROOT, TWOPC
from .test_serve_api import running

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver") or next(
    (p for p in ("/usr/lib/chromium/chromedriver", "/usr/bin/chromedriver") if os.path.exists(p)), None)

pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="Chromium is missing: apt-get install -y chromium chromium-driver")

WAIT_S = 20


@pytest.fixture(scope="module")
def saved_trace(tmp_path_factory):
    """Starts writing the no_durable_log counterexample with the CLI, in the background; yields a wait for its path.

    n=2 keeps the search to a second or two (n=3 takes ten times longer for the same bug).
    """
    out = tmp_path_factory.mktemp("counterexample")
    proc = subprocess.Popen([sys.executable, "-m", "explorer.cli", str(TWOPC), "--param", "variant=no_durable_log",
                             "--param", "n=2", "--faults", "crash=1", "--out", str(out), "--no-progress"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def wait() -> Path:
        text, _ = proc.communicate(timeout=120)
        assert proc.returncode == 12, text
        return out / "atomicity.json"

    yield wait
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is not installed: pip install -e '.[test]'")
    opts = Options()
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1400,1000"):
        opts.add_argument(arg)
    profile = tempfile.mkdtemp(prefix="explore-serve-chromium-")
    opts.add_argument(f"--user-data-dir={profile}")
    opts.binary_location = CHROMIUM
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def shots(tmp_path):
    where = Path(os.environ.get("EXPLORE_SERVE_SCREENSHOTS") or tmp_path)
    where.mkdir(parents=True, exist_ok=True)

    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    def shot(driver, name: str) -> Path:
        path = where / f"{name}.png"
        height = max(1000, min(int(driver.execute_script("return document.documentElement.scrollHeight")), 4000))
        driver.set_window_size(1400, height + 200)  # the whole page, diagram included
        try:  # a screenshot of what fits is still worth keeping: do not fail the test over the window size
            WebDriverWait(driver, 5).until(lambda d: d.execute_script("return window.innerHeight") >= height)
        except TimeoutException:
            pass
        driver.save_screenshot(str(path))
        driver.set_window_size(1400, 1000)
        return path

    return shot


def until(driver, check, what: str):
    """Waits until `check(driver)` is truthy; fails naming `what`."""
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:  # the page redraws its panels on every answer: an element read mid-redraw is stale, so look again
        return WebDriverWait(driver, WAIT_S, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: check(d))
    except TimeoutException:
        error = driver.execute_script("return document.getElementById('error').hidden ? '' : "
                                      "document.getElementById('error-text').textContent")
        pytest.fail(f"timed out waiting for {what}" + (f"; the page shows the error: {error}" if error else ""))


def css(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def value(driver, field: str) -> str | None:
    found = css(driver, f'.field[data-field="{field}"] .value')
    return found[0].text if found else None


def diagram_steps(driver) -> int:
    return int(css(driver, "#diagram")[0].get_attribute("data-steps"))


def click(driver, selector: str) -> None:
    buttons = css(driver, selector)
    assert buttons, f"no button matches {selector}; buttons: {[b.text for b in css(driver, 'button.act')]}"
    buttons[0].click()


def test_a_newcomer_clicks_through_the_2pc_blocking_scenario(browser, saved_trace, shots):
    d = browser
    with running(TWOPC, faults="crash=1") as c:
        d.get(c.url)
        until(d, lambda d: len(css(d, "#nodes .node")) == 4 and diagram_steps(d) == 0, "four node panels")
        assert "TwoPC(n=3, variant='correct')" in css(d, "#spec-title")[0].text
        assert [g.get_attribute("data-group") for g in css(d, "#actions .group")] == ["coord", "p1", "p2", "p3", "faults"]
        assert css(d, '#invariants li[data-invariant="atomicity"]')[0].get_attribute("data-holds") == "true"
        for i, p in enumerate(("p1", "p2", "p3"), start=1):
            click(d, f'#actions .group[data-group="{p}"] button.act[data-kind="deliver"][data-label$="[True]"]')
            until(d, lambda d, p=p, i=i: value(d, f"{p}.state") == "'prepared'" and diagram_steps(d) == i,
                  f"{p} prepared and the diagram at step {i}")
            assert css(d, f'.field.changed[data-field="{p}.state"]'), "the changed field is highlighted"
            assert "got Prepare()" in css(d, "#diagram")[0].get_attribute("innerHTML")
        assert len(css(d, "#network li.new")) == 1  # the vote just sent
        click(d, '#actions .group[data-group="coord"] button.act[data-label^="p1→coord Vote(yes=True)"]')
        until(d, lambda d: value(d, "coord.votes") == "{'p1'}" and diagram_steps(d) == 4, "coord counted p1's vote")
        assert css(d, '.field.changed[data-field="coord.votes"]') and not css(d, '.field.changed[data-field="p1.state"]')
        click(d, '#actions .group[data-group="faults"] button.act[data-kind="crash"][data-node="coord"]')
        until(d, lambda d: css(d, '.node[data-node="coord"]')[0].get_attribute("data-crashed") == "true"
              and diagram_steps(d) == 5, "coord crashed")
        assert value(d, "coord.votes") == "frozenset()"  # not durable: lost in the crash
        svg = css(d, "#diagram svg")
        assert svg and "CRASH" in svg[0].get_attribute("innerHTML") and "got Vote(yes=True)" in svg[0].get_attribute("innerHTML")
        assert [value(d, f"p{i}.state") for i in (1, 2, 3)] == ["'prepared'"] * 3
        for p in ("p1", "p2", "p3"):  # blocked: nothing a prepared participant can do
            group = css(d, f'#actions .group[data-group="{p}"]')[0]
            assert "nothing enabled" in group.text
        assert [b.text.split("\n")[0] for b in css(d, '#actions .group[data-group="faults"] button.act')] == ["restart coord"]
        path = shots(d, "2pc-blocking")
        assert path.stat().st_size > 10_000

        css(d, "#btn-back")[0].click()  # back and forward along the path
        until(d, lambda d: css(d, '.node[data-node="coord"]')[0].get_attribute("data-crashed") == "false"
              and diagram_steps(d) == 4, "back at step 4")
        css(d, "#btn-forward")[0].click()
        until(d, lambda d: css(d, '.node[data-node="coord"]')[0].get_attribute("data-crashed") == "true",
              "forward to the crash again")


def test_a_saved_counterexample_opens_from_the_page_and_can_be_stepped_through(browser, saved_trace, shots, tmp_path):
    d = browser
    trace = saved_trace()
    with running(TWOPC, faults="crash=1") as c:
        d.get(c.url)
        until(d, lambda d: len(css(d, "#nodes .node")) == 4, "the page")
        bad = tmp_path / "not-a-trace.json"
        bad.write_text('{"format": "something else"}')
        css(d, "#trace-file")[0].send_keys(str(bad))
        until(d, lambda d: css(d, "#error")[0].is_displayed(), "an error for a file that is not a trace")
        assert "not an explorer trace" in css(d, "#error-text")[0].text

        css(d, "#trace-file")[0].send_keys(str(trace))
        until(d, lambda d: "TwoPC(n=2, variant='no_durable_log')" in css(d, "#spec-title")[0].text
              and css(d, '#invariants li[data-invariant="atomicity"]')[0].get_attribute("data-holds") == "false",
              "the counterexample's last state, atomicity red")
        assert not css(d, "#error")[0].is_displayed()
        assert "opened a trace of" in css(d, "#notice-text")[0].text
        steps = len(css(d, "#path li")) - 1
        until(d, lambda d: diagram_steps(d) == steps, "the diagram of the whole trace")
        assert "atomicity" in css(d, "#diagram svg")[0].get_attribute("innerHTML")
        shots(d, "2pc-counterexample")

        css(d, "#btn-back")[0].click()
        until(d, lambda d: css(d, '#invariants li[data-invariant="atomicity"]')[0].get_attribute("data-holds") == "true"
              and diagram_steps(d) == steps - 1, "one step back: atomicity holds")
        css(d, '#path li[data-index="2"]')[0].click()
        until(d, lambda d: diagram_steps(d) == 2, "step 2 of the trace")
        click(d, 'button.act[data-kind="crash"][data-node="p1"]')  # branch off the trace
        until(d, lambda d: len(css(d, "#path li")) == 4 and diagram_steps(d) == 3, "a branch of three steps")
        assert css(d, '.node[data-node="p1"]')[0].get_attribute("data-crashed") == "true"
        assert len(css(d, "#nodes .node")) == 3  # coord, p1, p2: the trace's n=2
