"""The page at ``/`` in real headless Chromium (Debian's ``chromium``, driven by Playwright),
against a real server on a free loopback port; with a screenshot check."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from storage.records import validate_user
from support.fakes import BagOfWordsEmbedder
from support.server import running_server
from uue.search.builds import build_indexes

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
KEY = "page-test-key-0123456789"
BAR = np.array([130, 169, 235])  # the score bar: #2f6fde at 60 % opacity on white


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from test_serve import make_state

    state = make_state(tmp_path_factory.mktemp("page"), api_key=KEY)
    hostile = {"user_id": "mallory", "chunks": [{"text": "<img src=x onerror=\"document.title='pwned'\"> hiking"}]}
    state.store.ingest([validate_user(hostile)])
    build_indexes(state.store, state.indexes_dir, progress=False, model=BagOfWordsEmbedder(), interests=True)
    with running_server(state) as url:
        yield url
    state.store.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(site)
    page.wait_for_function("document.getElementById('status').textContent === 'ready'")
    yield page
    context.close()
    assert errors == []


def test_find_an_audience_see_why_and_open_a_user(page, tmp_path):
    assert page.eval_on_selector_all("#pool option", "options => options.map(o => o.value)") == [
        "enjoys hiking", "enjoys baking", "enjoys chess"]
    page.fill("#statement", "mountain trail hiking")
    page.fill("#where", "country=FR")
    page.fill("#k", "3")
    page.click("#find")
    page.wait_for_selector("#audience li.audience-hit")
    hits = page.locator("#audience li.audience-hit")
    assert hits.count() == 3
    assert sorted(page.eval_on_selector_all("#audience .user-link", "b => b.map(x => x.textContent)")) == [
        "hiking-1", "hiking-3", "hiking-5"]
    for i in range(3):
        assert "hiking" in hits.nth(i).locator(".explain li").first.inner_text()

    shot = tmp_path / "audience.png"
    page.locator("#results").screenshot(path=str(shot))
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.shape[0] > 100 and pixels.shape[1] > 600
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # text and bars drawn, not a blank box
    assert (np.abs(pixels - BAR).max(axis=2) <= 12).sum() > 3 * 100  # three score bars

    page.click("#audience .user-link >> nth=0")
    page.wait_for_selector("#user:not([hidden])")
    user = page.inner_text("#user-title")
    assert user.startswith("hiking-")
    assert "country=FR" in page.inner_text("#user-meta")
    assert page.locator("#chunks li").count() == 3
    assert "hiking" in page.locator("#why li").first.inner_text()
    assert "mountain trail hiking" in page.inner_text("#why-statement")
    assert page.locator("#profile li").first.inner_text().startswith("enjoys hiking")
    assert page.inner_text("#statements") == "enjoys hiking"
    similar = page.locator("#similar .user-link")
    assert similar.count() == 5 and user not in [similar.nth(i).inner_text() for i in range(5)]
    other = similar.first.inner_text()
    similar.first.click()
    page.wait_for_function(f"document.getElementById('user-title').textContent === {other!r}")


def test_errors_show_on_the_page(page):
    page.fill("#statement", "hiking")
    page.fill("#where", "shoe_size=9")
    page.click("#find")
    page.wait_for_selector("#error:not([hidden])")
    assert "unknown filter key 'shoe_size'" in page.inner_text("#error")
    page.fill("#user-id", "nobody")
    page.press("#user-id", "Enter")
    page.wait_for_function("document.getElementById('error').textContent.includes('nobody')")
    assert "unknown user 'nobody'" in page.inner_text("#error")


def test_a_compound_audience_from_the_page(page):
    page.click("#compound summary")
    page.fill("#like", "baking-0\nbaking-1^2")
    page.fill("#k", "4")
    page.click("#find")
    page.wait_for_function("document.getElementById('results-title').textContent.includes('compound')")
    found = page.eval_on_selector_all("#audience .user-link", "b => b.map(x => x.textContent)")
    assert sorted(found) == ["baking-2", "baking-3", "baking-4", "baking-5"]  # like them, never them
    assert page.locator("#audience .explain li").count() > 0
    page.fill("#not", "enjoys chess^lots")
    page.click("#find")
    page.wait_for_selector("#error:not([hidden])")
    assert "must be a weight" in page.inner_text("#error")
    page.fill("#not", "")
    page.fill("#like", "")
    page.fill("#statement", "")
    page.click("#find")
    page.wait_for_function("document.getElementById('error').textContent.includes('give a statement')")


def test_by_interests_from_the_page(page):
    asked = []
    page.on("request", lambda request: asked.append(request.url))
    page.check("#interests")
    page.fill("#statement", "mountain trail hiking")
    page.fill("#k", "3")
    page.click("#find")
    page.wait_for_selector("#audience li.audience-hit")
    found = page.eval_on_selector_all("#audience .user-link", "b => b.map(x => x.textContent)")
    assert len(found) == 3 and all(u.startswith("hiking-") for u in found)
    assert any("/audience?" in u and "interests=true" in u for u in asked)
    page.click("#audience .user-link >> nth=0")
    page.wait_for_selector("#interests-list:not([hidden]) li")
    interests = page.inner_text("#interests-list")  # three chunks: one interest
    assert page.locator("#interests-list li").count() == 1 and "100% of the chunks (3)" in interests
    assert "enjoys hiking" in interests and "hiking" in page.inner_text("#interests-list .example")
    assert any("/similar?" in u and "interests=true" in u for u in asked)
    assert page.locator("#similar .user-link").count() == 5
    page.click("#compound summary")
    page.fill("#like", "baking-0")
    page.click("#find")
    page.wait_for_function("document.getElementById('error').textContent.includes('untick')")
    page.uncheck("#interests")
    page.click("#audience .user-link >> nth=0")
    page.wait_for_selector("#interests-list[hidden]", state="attached")


def test_stored_text_is_shown_as_text_never_markup(page):
    page.fill("#user-id", "mallory")
    page.press("#user-id", "Enter")
    page.wait_for_selector("#user:not([hidden])")
    assert "<img src=x" in page.inner_text("#chunks")
    assert page.locator("#user img").count() == 0 and page.title() != "pwned"


def test_delete_a_user_and_never_see_them_again(page):
    assert "chess-5" in page.eval_on_selector_all("#user-ids option", "o => o.map(x => x.value)")
    page.fill("#statement", "chess rook gambit")
    page.click("#find")
    page.wait_for_selector("#audience .user-link[data-user='chess-5']")
    page.click("#audience .user-link[data-user='chess-5']")
    page.wait_for_function("document.getElementById('user-title').textContent === 'chess-5'")
    page.fill("#api-key", "wrong-key-0123456789")
    page.click("#delete-user")
    page.wait_for_selector("#error:not([hidden])")
    assert "API key" in page.inner_text("#error")
    page.fill("#api-key", KEY)
    page.click("#delete-user")
    page.wait_for_function("document.getElementById('status').textContent === 'deleted chess-5'")
    assert page.locator("#user").is_hidden()
    assert page.locator("#audience .user-link[data-user='chess-5']").count() == 0
    page.fill("#k", "100")
    page.click("#find")
    page.wait_for_function("document.getElementById('results-title').textContent.startsWith('18 users')")
    assert page.locator("#audience .user-link[data-user='chess-5']").count() == 0
    page.wait_for_function("!Array.from(document.querySelectorAll('#user-ids option')).some(o => o.value === 'chess-5')")
