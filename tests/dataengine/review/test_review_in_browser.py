"""The review page in a real browser (Selenium, Debian's chromium and chromium-driver):
filter to one task, decide with the keyboard, reload and see the decisions, and find them
honoured by `ace data export` and `ace data bench`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dataengine.corpus.curation import read_decisions
from dataengine.corpus.read import iter_samples, read_index
from tests.browser import webdriver
from tools.serving import served

TASK = "grayscale"
WAIT = 30


@pytest.fixture
def server(corpus):
    with review_server(corpus) as url:
        yield url


def review_server(corpus):
    """`ace data review` as a user starts it; yields the URL it prints."""
    return served("data", "review", str(corpus), "--reviewer", "ana")


@pytest.fixture
def browser(chromium):
    driver = webdriver(chromium)
    yield driver
    driver.quit()


def cards(driver) -> list[tuple[str, str]]:
    """(key, decision) of every card in the grid, in order."""
    return driver.execute_script(
        "return [...document.querySelectorAll('#grid .card')]"
        ".map(c => [c.dataset.key, c.dataset.decision]);"
    )


def wait_until(driver, test, what: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT).until(lambda d: test(d), message=what)


def press(driver, key: str, decided: int | None = None) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(key).perform()
    if decided is not None:  # each decision is saved before the page moves on
        wait_until(
            driver,
            lambda d: sum(dec != "undecided" for _, dec in cards(d)) == decided,
            f"{decided} decisions shown",
        )


def test_decide_with_the_keyboard_and_the_engine_honours_it(corpus, server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    expected = sorted(
        r["key"]
        for r in read_index(corpus).to_pylist()
        if r["task"] == TASK and r["split"] == "bench" and r["status"] == "ok"
    )
    assert len(expected) >= 6
    browser.get(server)
    wait_until(browser, lambda d: len(cards(d)) > len(expected), "the unfiltered grid")
    Select(browser.find_element(By.NAME, "split")).select_by_value("bench")
    Select(browser.find_element(By.NAME, "task")).select_by_value(TASK)
    wait_until(browser, lambda d: [k for k, _ in cards(d)] == expected, "the filtered grid")

    for decided in (1, 2, 3):
        press(browser, "r", decided)
    browser.find_element(By.ID, "reason").click()
    browser.find_element(By.ID, "reason").send_keys("clean, and the grey is right\n")
    press(browser, "v", 4)
    press(browser, "v", 5)
    press(browser, "a", 6)
    press(browser, "u", 5)  # the accept is undone: that sample is undecided again
    assert [d for _, d in cards(browser)] == ["reject"] * 3 + ["verify"] * 2 + ["undecided"] * (
        len(expected) - 5
    )

    browser.refresh()  # the filter is in the URL; the decisions are in the curation table
    wait_until(browser, lambda d: [k for k, _ in cards(d)] == expected, "the grid after reload")
    after_reload = cards(browser)
    browser.switch_to.new_window("tab")
    browser.get(f"{server}?split=bench&task={TASK}")
    wait_until(browser, lambda d: cards(d) == after_reload, "the same decisions in a second tab")

    rejected, verified = expected[:3], expected[3:5]
    decisions = read_decisions(corpus)
    assert {k for k, r in decisions.items() if r["decision"] == "reject"} == set(rejected)
    assert {k for k, r in decisions.items() if r["decision"] == "verify"} == set(verified)
    assert decisions[verified[0]]["reason"] == "clean, and the grey is right"
    assert {r["by"] for r in decisions.values()} == {"ana"}
    assert expected[5] not in decisions  # undone

    ace = [sys.executable, "-m", "ace_cli", "data"]
    subprocess.run([*ace, "export", str(corpus), "--out", str(tmp_path / "export")], check=True)
    exported = {s["__key__"] for s in iter_samples(tmp_path / "export")}
    assert exported and not exported & set(rejected)
    subprocess.run([*ace, "bench", str(corpus), "--out", str(tmp_path / "bench")], check=True)
    assert {s["__key__"] for s in iter_samples(tmp_path / "bench")} == set(verified)


def test_one_sample_view_shows_every_member_and_text_stays_text(corpus, browser):
    key = next(r["key"] for r in read_index(corpus).to_pylist()
               if r["task"] == "inpainting" and r["status"] == "ok")  # fmt: skip
    _plant_instruction(corpus, key, '<img src=x onerror="window.pwned=1">{image}')
    with review_server(corpus) as server:
        _look_at_one_sample(browser, server)


def _look_at_one_sample(browser, server) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{server}?task=inpainting&view=sample")
    wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#detail figure"), "the detail")
    wait_until(
        browser,
        lambda d: d.execute_script(
            "return [...document.querySelectorAll('#detail img')]"
            ".every(i => i.complete && i.naturalWidth > 0)"
        ),
        "every member rendered",
    )
    captions = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#detail figcaption")]
    assert captions[0].startswith("frame 0 (input)") and "mask 0 (edit)" in captions
    assert captions[-1] == "target"
    browser.get(f"{server}?task=inpainting")
    wait_until(browser, lambda d: len(cards(d)) > 0, "the grid")
    texts = browser.execute_script(
        "return [...document.querySelectorAll('.instruction')].map(e => e.textContent)"
    )
    assert '<img src=x onerror="window.pwned=1">{image}' in texts
    assert browser.execute_script("return window.pwned === undefined")


def _plant_instruction(corpus, key: str, text: str) -> None:
    """Give one index row a hostile instruction, as a crafted corpus would."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for path in (corpus / "index").glob("*.parquet"):
        table = pq.read_table(path)
        keys = table.column("key").to_pylist()
        if key in keys:
            column = table.column("instruction").to_pylist()
            column[keys.index(key)] = text
            index = table.schema.get_field_index("instruction")
            pq.write_table(table.set_column(index, "instruction", pa.array(column)), path)
