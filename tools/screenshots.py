"""Screenshots of the review and chat pages for the README (docs/images/*.jpg).

python -m tools.screenshots [--corpus data/default] [--run data/runs/tiny] [--out docs/images]

The review page is shown on a copy of the corpus (the decisions made for the picture stay in
the copy); the chat page with the run's checkpoint, two turns on an example from the corpus.
"""

from __future__ import annotations

import argparse
import io
import shutil
import tempfile
import time
from pathlib import Path

from PIL import Image

from tools.chromium import webdriver
from tools.serving import served

TASK = "add_object_photo"
WAIT = 120


def until(driver, test) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT).until(lambda d: test(d))


def save(driver, path: Path) -> None:
    """A JPEG of the window: small enough to keep in the repository."""
    image = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    image.save(path, quality=80, optimize=True)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


def review(corpus: Path, out: Path, driver) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / corpus.name
        shutil.copytree(corpus, copy, ignore=shutil.ignore_patterns("report"))
        with served("data", "review", str(copy), "--reviewer", "ana") as url:
            driver.get(f"{url}?task={TASK}&sort=-changed")
            until(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#grid .card")) > 3)
            for key in "rvvj":
                ActionChains(driver).send_keys(key).perform()
                time.sleep(0.5)
            time.sleep(2)  # the strips load
            save(driver, out / "review-grid.jpg")
            ActionChains(driver).send_keys(Keys.ENTER).perform()
            until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#detail figure img"))
            time.sleep(2)
            save(driver, out / "review-sample.jpg")


def chat(run: Path, corpus: Path, out: Path, driver) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    with served("model", "chat", "--ckpt", str(run), "--examples", str(corpus)) as url:
        driver.get(url)
        until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#examples img"))
        driver.find_elements(By.CSS_SELECTOR, "#examples img")[1].click()
        until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#images img"))
        canvas = driver.find_element(By.ID, "mask")
        until(driver, lambda d: canvas.size["width"] > 0)
        ActionChains(driver).move_to_element_with_offset(canvas, -60, -20).click_and_hold()\
            .move_by_offset(120, 40).release().perform()  # fmt: skip
        for n, text in enumerate(("Convert {image} to grayscale.", "Make {image} brighter."), 1):
            driver.find_element(By.ID, "instruction").send_keys(text)
            driver.find_element(By.ID, "send").click()
            until(driver, lambda d, n=n: len(d.find_elements(By.CSS_SELECTOR, "#turns li")) == n)
        time.sleep(1)
        save(driver, out / "chat.jpg")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("data/default"))
    parser.add_argument("--run", type=Path, default=Path("data/runs/tiny"))
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    driver = webdriver(width=1400, height=900)
    try:
        review(args.corpus, args.out, driver)
        chat(args.run, args.corpus, args.out, driver)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
