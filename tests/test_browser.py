"""End to end in a real browser: the autocomplete app served by Voilà on 127.0.0.1, driven by
Playwright with Debian's Chromium.  It builds a field list, asks for a completion and reads
the suggestions; a screenshot is saved (to ``$LAGNB_ARTIFACTS`` when set, else the test's
temporary folder).

Needs: ``apt-get install -y chromium`` and ``pip install playwright voila`` (Playwright's own
browser download is not used).  Skips with the reason when any of them is missing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return "chromium is not installed (apt-get install -y chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install playwright)"
    if importlib.util.find_spec("voila") is None:
        return "voila is not installed (pip install voila)"
    return None


if (_reason := _missing()) is not None:
    pytest.skip(_reason, allow_module_level=True)

APP_CELL = """\
import torch
torch.set_num_threads(1)
from lagnb.apps.widgets import AutocompleteApp
app = AutocompleteApp({model!r}, max_terms=2)
app"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served_app(tmp_path_factory):
    """Voilà serving a one-cell notebook that shows the app with the shipped model (an untrained
    model's suggestions are all rejected, and rejected suggestions are not shown by default)."""
    import nbformat

    root = tmp_path_factory.mktemp("voila")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(APP_CELL.format(model=""))]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, root / "app.ipynb")
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    log = open(root / "voila.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voila",
            "app.ipynb",
            f"--port={port}",
            "--no-browser",
            "--Voila.ip=127.0.0.1",
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(f"voila did not start:\n{(root / 'voila.log').read_text()}")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_build_fields_complete_and_see_suggestions(served_app, tmp_path):
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("LAGNB_ARTIFACTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1200})
            page.goto(served_app, timeout=120_000)
            page.wait_for_selector(".lagnb-autocomplete", timeout=120_000)

            # build a field list: the Higgs doublet and a lepton doublet
            page.click(".lagnb-clear-button")
            page.wait_for_function(
                "document.querySelector('.lagnb-field-list select').options.length == 0"
            )
            page.select_option(".lagnb-kind select", label="scalar")
            page.select_option(".lagnb-su2 select", label="2")
            page.fill(".lagnb-hypercharge input", "1")
            page.fill(".lagnb-name input", "H")
            page.click(".lagnb-add-button")
            page.select_option(".lagnb-kind select", label="left-handed Weyl")
            page.fill(".lagnb-hypercharge input", "-1")
            page.fill(".lagnb-name input", "L")
            page.click(".lagnb-add-button")
            page.wait_for_function(
                "document.querySelector('.lagnb-field-list select').options.length == 2"
            )
            fields = page.inner_text(".lagnb-field-list select").replace("\xa0", " ")
            assert "H: scalar (1, 2, 1)" in fields and "L: Weyl (1, 2, -1) L" in fields

            # one engine term as the partial Lagrangian, then complete
            page.click(".lagnb-engine-add-button")
            page.wait_for_function(
                "document.querySelector('.lagnb-partial textarea').value.startsWith('+')"
            )
            page.click(".lagnb-complete-button")
            page.wait_for_selector(".lagnb-suggestion", timeout=60_000)
            status = page.inner_text(".lagnb-status")
            suggestions = [e.inner_text() for e in page.query_selector_all(".lagnb-suggestion")]
            page.screenshot(path=str(shots / "autocomplete.png"), full_page=True)
            assert "suggestions" in status and "engine has" in status
            assert 1 <= len(suggestions) <= 2
            assert all("valid" in s and "invalid" not in s for s in suggestions), suggestions
            # accept the first suggestion: it joins the partial Lagrangian
            page.click(".lagnb-accept >> nth=0")
            page.wait_for_function(
                "document.querySelector('.lagnb-partial textarea').value.split('\\n').length == 2"
            )
            page.screenshot(path=str(shots / "autocomplete-accepted.png"), full_page=True)
        finally:
            browser.close()
    assert (shots / "autocomplete.png").stat().st_size > 10_000
