"""The report in a real browser: Debian's Chromium, headless, driven by Playwright.

Every profile's matrix has its 64 cells, clicking a cell shows its details, the diff view
highlights exactly the cells ``snaporacle profile diff`` lists for every pair of profiles, the
page asks for nothing over the network, and a screenshot is taken (written to the path in
``$SNAPORACLE_SCREENSHOT`` when set: that is how docs/report.png is made).

Chromium comes from the Debian package ``chromium`` (scripts/setup.sh installs it); Playwright
only drives it, it downloads no browser. In CI (``$CI`` set) a missing Chromium fails the test.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from snaporacle.cli import main
from snaporacle.profiles import load_profile, profile_names

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
_CELL_LINE = re.compile(r"^(offline|online)/memory=\w+/disk=\w+/(disk-only|no-flag)$")


def _chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists()
                                         else None)
    if found is None:
        message = "needs the Debian package chromium (bash scripts/setup.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The report (every profile, the findings, the committed explore run) open in Chromium."""
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        message = "needs the PyPI package playwright (the test extra; scripts/setup.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("browser")
    report = folder / "report.html"
    assert main(["report", "--explore-json", str(ROOT / "docs" / "explore-fake.json"),
                 "--out", str(report)]) == 0
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(folder / "profile"),  # a fresh user data dir
            executable_path=executable,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1700, "height": 1100},
        )
        requests: list[str] = []
        context.on("request", lambda request: requests.append(request.url))
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.goto(report.as_uri())
        tab.wait_for_selector("#diff-matrix td.diff-cell")
        yield tab
        assert errors == [], errors
        assert [url for url in requests if not url.startswith("file:")] == []
        context.close()


def _profile_diff_cells(a: str, b: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The cells ``snaporacle profile diff A B`` lists."""
    capsys.readouterr()
    main(["profile", "diff", a, b])
    return [line for line in capsys.readouterr().out.splitlines() if _CELL_LINE.match(line)]


def _profile_diff_rows(a: str, b: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    main(["profile", "diff", a, b])
    lines = capsys.readouterr().out.splitlines()
    return [line for line in lines[:-1] if not line.startswith("  ")]


def test_every_profile_matrix_has_its_64_cells(page: Any) -> None:
    shown = page.eval_on_selector_all("section.profile", "els => els.map(e => e.dataset.profile)")
    assert shown == profile_names()
    for name in shown:
        cells = page.locator(f'section.profile[data-profile="{name}"] table.matrix td.cell')
        assert cells.count() == 64, name
        keys = cells.evaluate_all("els => els.map(e => e.dataset.key)")
        assert len(set(keys)) == 64
        assert page.locator(f'section.profile[data-profile="{name}"] td.cell:visible').count() == 64


def test_clicking_a_cell_shows_its_details(page: Any) -> None:
    key = "online/memory=external/disk=omit/no-flag"
    page.click(f'section.profile[data-profile="plan-1.0.1"] td[data-key="{key}"]')
    panel = page.locator("#details")
    assert panel.is_visible()
    assert page.text_content("#details-title") == key
    facts = page.eval_on_selector_all(
        "#details-body dt", "els => els.map(e => [e.textContent, e.nextElementSibling.textContent])")
    entry = load_profile("plan-1.0.1").entry(next(
        e.cell for e in load_profile("plan-1.0.1") if e.cell.key() == key))
    data = entry.as_json()
    shown = dict(facts)
    assert shown["profile"] == "plan-1.0.1"
    assert shown["outcome"] == data["outcome"]
    assert shown["mechanism"] == " + ".join(data["mechanism"])
    assert shown["plan row"] == str(data["row"])
    assert shown["result modes"] == f"memory={data['memory_result']}, disk={data['disk_result']}"
    page.click("#details-close")
    assert not panel.is_visible()


def test_the_diff_view_highlights_what_profile_diff_lists(
    page: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    names = profile_names()
    total = 0
    for a, b in itertools.permutations(names, 2):
        page.select_option("#diff-a", a)
        page.select_option("#diff-b", b)
        highlighted = page.eval_on_selector_all(
            "#diff-matrix td.differs", "els => els.map(e => e.dataset.key)")
        listed = _profile_diff_cells(a, b, capsys)
        assert len(highlighted) == len(set(highlighted))
        assert sorted(highlighted) == sorted(listed), (a, b)
        total += len(highlighted)
        same = page.locator("#diff-matrix td.same").count()
        assert same + len(highlighted) == 64
        rows = page.eval_on_selector_all(
            "#diff-rows tbody tr", "els => els.map(e => e.firstElementChild.textContent)")
        assert rows == _profile_diff_rows(a, b, capsys), (a, b)
        color = page.eval_on_selector(
            "#diff-matrix td.differs", "e => getComputedStyle(e).backgroundColor"
        ) if highlighted else None
        if color is not None:
            plain = page.eval_on_selector(
                "#diff-matrix td.same", "e => getComputedStyle(e).backgroundColor")
            assert color != plain  # the differing cells stand out
    assert total > 0


def test_screenshot(page: Any, tmp_path: Path) -> None:
    names = profile_names()
    page.select_option("#diff-a", names[0])
    page.select_option("#diff-b", names[1])
    page.click('section.profile td[data-key="online/memory=external/disk=omit/no-flag"]')
    page.evaluate("window.scrollTo(0, 0)")
    target = Path(os.environ.get("SNAPORACLE_SCREENSHOT") or tmp_path / "report.png")
    page.screenshot(path=str(target))
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000
