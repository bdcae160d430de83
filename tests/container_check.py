"""Drive the app served by the container in headless Chromium: open it, train a small model.

Usage: ``python tests/container_check.py URL ARTIFACTS_DIR`` (run by tests/container.sh).
"""

import re
import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nnviz.bench import CHROMIUM, CHROMIUM_ARGS  # noqa: E402 - after the path is set


def main(url: str, artifacts: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(60_000)
        try:
            page.goto(url)
            expect(page.get_by_role("heading", name="nnviz")).to_be_visible()
            page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="3 · Train").click()
            main_area = page.locator('[data-testid="stMain"]')
            epochs = page.get_by_label("Epochs", exact=True)
            expect(epochs).to_be_visible(timeout=120_000)  # the first visit imports TensorFlow
            epochs.fill("3")
            epochs.press("Enter")
            expect(epochs).to_have_value("3")
            page.wait_for_timeout(1000)
            main_area.get_by_role("button", name="Train", exact=True).click()
            expect(main_area.get_by_text(re.compile(r"^Done: 3 epochs in"))).to_be_visible(timeout=120_000)
            expect(main_area.locator(".vega-embed").nth(2)).to_be_visible()  # loss, accuracy, boundary
            page.screenshot(path=str(artifacts / "container-trained.png"), full_page=True)
            # The lessons ship in the image: the list shows them and one opens.
            page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Lessons").click()
            main_area.get_by_role("button", name="Start").first.click()
            expect(main_area.get_by_text("What is a neuron?")).to_be_visible()
        except Exception:
            page.screenshot(path=str(artifacts / "container-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    print("container: trained 3 epochs in the browser")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
