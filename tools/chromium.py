"""Headless Chromium driven by Selenium (Debian's chromium and chromium-driver packages):
what the browser tests and the docs' screenshots use."""

from __future__ import annotations

import shutil

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DRIVERS = ("chromedriver", "chromium-driver")


def find_chromium() -> str | None:
    return next((path for name in NAMES if (path := shutil.which(name))), None)


def find_driver() -> str | None:
    return next((path for name in DRIVERS if (path := shutil.which(name))), None)


def webdriver(executable: str | None = None, width: int = 1400, height: int = 1000):
    """A Selenium driver of headless Chromium (through chromedriver)."""
    from selenium import webdriver as selenium
    from selenium.webdriver.chrome.service import Service

    options = selenium.ChromeOptions()
    options.binary_location = executable or find_chromium()
    for flag in (
        "--headless=new",
        "--no-sandbox",  # root in a container has no user namespace for the sandbox
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    return selenium.Chrome(options=options, service=Service(find_driver()))
