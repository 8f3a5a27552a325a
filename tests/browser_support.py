"""A real headless browser for the console tests: Debian's chromium driven by Debian's
chromedriver through Selenium. Both paths are given, so Selenium's own manager downloads
nothing; the profile is fresh per test and the browser phones home to nobody."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SHOTS_DIR_ENV = "BTS_CONSOLE_SHOTS"  # copy the screenshots there too (to look at them)

needs_chromium = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="Debian's chromium and chromium-driver are not installed (dev.sh installs them)",
)


@contextmanager
def chromium(profile: Path) -> Iterator[object]:
    """A headless Chromium session (``selenium.webdriver.Chrome``), quit at the end."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--lang=zh-CN",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(driver: object, directory: Path, name: str) -> Path:
    """Save the whole page as ``name``.png (the body's full height, not just the window)."""
    import os

    from selenium.webdriver.common.by import By

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    body = driver.find_element(By.TAG_NAME, "body")  # type: ignore[attr-defined]
    body.screenshot(str(path))
    extra = os.environ.get(SHOTS_DIR_ENV)
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(extra) / path.name)
    return path


def wait_for(driver: object, css: str, timeout_s: float = 15.0) -> object:
    """The first element matching ``css`` once it is there (after a click that navigates,
    the old page may still be showing for a moment)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout_s).until(  # type: ignore[arg-type]
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
    )
