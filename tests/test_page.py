"""The page (GET /) in a real headless Chromium, driven by Playwright: every deep link draws what the JSON API
answers for the same query, search finds a title as it is typed, an upload shows its neighbours, API errors are
shown in the API's words, and nothing from the address bar runs as code. Skipped, with the reason, where Debian's
chromium is not installed (.ci/run installs it)."""

import shutil
from urllib.parse import quote

import pytest

from tests.conftest import Service, shared_dataset

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.serve]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("headless Chromium not installed (Debian: apt-get install chromium)", allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api", reason="playwright not installed (make install adds it)")

ROSE = "roses/10090824183_d02c613f10_m.jpg"


@pytest.fixture(scope="module")
def service(built, photos):
    """The e2e playlists and the flowers beside them, as `python -m serving --images-name` serves them."""
    artifacts, _ = photos
    running = Service(artifacts, "e2e", args=("--images-name", "photos"))
    running.wait_ready(timeout=120)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, service):
    """A fresh tab; any script error or dialog (an injected alert) fails the test."""
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    tab.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    tab.problems = problems
    yield tab
    tab.close()
    assert not problems, problems


def open_page(page, service, address: str):
    page.goto(service.base + address)
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)


def listed(where, selector: str, attribute: str = "data-item") -> list[str]:
    """``attribute`` of every element ``selector`` finds in ``where`` (a page or a locator), in page order."""
    return [entry.get_attribute(attribute) for entry in where.locator(selector).all()]


def test_a_users_page_shows_every_served_models_answer_default_first_and_marks_agreement(page, service):
    open_page(page, service, "/?user=p3")
    served = service.get("/models").json()
    models, default = served["models"], served["default"]["name"]
    assert listed(page, ".column", "data-model") == [default, *[m["name"] for m in models if m["name"] != default]]
    answers = {
        m["name"]: [i["item"] for i in service.get("/recommend", user="p3", k=10, model=m["name"]).json()["items"]]
        for m in models
    }
    for model, items in answers.items():
        assert listed(page, f'.column[data-model="{model}"] li') == items, model
    times = {item: sum(item in items for items in answers.values()) for items in answers.values() for item in items}
    agreed = set(listed(page, ".column li.agreed"))
    assert agreed == {item for item, count in times.items() if count > 1} and agreed
    held = service.get("/user-items", user="p3", k=50).json()
    assert listed(page, "details li") == [i["item"] for i in held["items"]]
    similar = [u["user"] for u in service.get("/similar-users", user="p3", k=8).json()["users"]]
    assert [link.get_attribute("href") for link in page.locator("ul.users a").all()] == [f"/?user={u}" for u in similar]


def test_an_items_page_a_sessions_and_an_images_draw_what_the_api_answers(page, service):
    open_page(page, service, "/?item=t0")
    assert page.locator("#view h2").inner_text() == "Track 0"
    similar = [i["item"] for i in service.get("/similar-items", item="t0", k=10).json()["items"]]
    lists = page.locator("#view ol.items")
    assert listed(lists.nth(0), "li") == ["t0"] and listed(lists.nth(1), "li") == similar

    open_page(page, service, "/?items=t0,t1,t2")
    nexts = [i["item"] for i in service.get("/next", items="t0,t1,t2", k=10).json()["items"]]
    assert listed(lists.nth(0), "li") == ["t0", "t1", "t2"] and listed(lists.nth(1), "li") == nexts

    open_page(page, service, "/?image=" + ROSE)
    images = [i["image"] for i in service.get("/similar-images", image=ROSE, k=12).json()["images"]]
    assert listed(page, "ul.images li", "data-image") == images
    widths = page.eval_on_selector_all("ul.images img", "images => images.map(i => i.complete && i.naturalWidth)")
    assert len(widths) == 12 and all(0 < width <= 160 for width in widths)  # the bundle's thumbnails, loaded


def test_clicking_a_recommended_track_opens_it_and_a_similar_user_opens_that_user(page, service):
    open_page(page, service, "/?user=p3")
    first = page.locator('.column[data-model="als"] li a').first
    title, address = first.inner_text(), first.get_attribute("href")
    first.click()
    page.wait_for_selector("body[data-ready=true]")
    assert page.url.endswith(address) and page.locator("#view h2").inner_text() == title
    page.go_back()
    page.wait_for_selector("body[data-ready=true]")
    user = page.locator("ul.users a").first
    name = user.inner_text()
    user.click()
    page.wait_for_selector("body[data-ready=true]")
    assert page.url.endswith("/?user=" + name) and page.locator("#view h2").inner_text() == name


def test_the_search_box_finds_a_title_as_it_is_typed_and_enter_opens_it(page, service):
    open_page(page, service, "/")
    page.locator("#q").press_sequentially("track 299", delay=30)  # the only title with a word starting 299
    page.wait_for_selector('#found li[data-item="t299"]', timeout=10_000)
    assert listed(page, "#found li") == ["t299"]
    page.locator("#q").fill("p1499")  # the one user whose id starts so
    page.wait_for_selector('#found a[href="/?user=p1499"]', timeout=10_000)
    page.locator("#q").press("Enter")
    page.wait_for_selector("body[data-ready=true]")
    assert page.url.endswith("/?user=p1499")


def test_an_upload_shows_its_neighbours_and_the_heads_class(page, service):
    open_page(page, service, "/")
    assert page.locator("#upload").is_visible()
    rose = sorted((shared_dataset("flowers5") / "roses").iterdir())[0]
    page.locator("#file").set_input_files(str(rose))
    page.wait_for_selector("#uploaded ul.images li", timeout=60_000)
    assert page.locator("#uploaded ul.images li").count() == 12
    assert page.locator(".prediction").inner_text().startswith("Looks like: roses")


def test_an_unknown_id_shows_the_apis_error_and_markup_in_it_stays_text(page, service):
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    open_page(page, service, "/?user=" + quote(hostile))
    answer = service.get("/user-items", user=hostile)
    assert answer.status_code == 404
    assert page.locator("#error").inner_text() == f"404: {answer.json()['error']}"
    assert page.locator("#view script, #view img, #error *").count() == 0  # shown as text, never parsed
    open_page(page, service, "/?item=nope")
    assert page.locator("#error").inner_text() == "404: " + service.get("/item-details", items="nope").json()["error"]


def test_the_page_works_at_phone_width(browser, service):
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(service.base + "/?user=p3")
    phone.wait_for_selector("body[data-ready=true]", timeout=30_000)
    scroll_width = phone.evaluate("document.documentElement.scrollWidth")
    phone.close()
    assert scroll_width <= 390  # nothing wider than the screen: no sideways scrolling


@pytest.mark.parametrize(("path", "drawn"), [("/docs", ".opblock"), ("/redoc", "[data-section-id]")])
def test_the_api_docs_draw_every_route_under_the_pages_policy(page, service, path, drawn):
    """/docs and /redoc carry the page's content security policy (no inline script) and still draw the API."""
    blocked: list[str] = []
    page.on("console", lambda message: "Content Security Policy" in message.text and blocked.append(message.text))
    page.goto(service.base + path)
    page.wait_for_selector(drawn, timeout=30_000)
    routes = service.get("/openapi.json").json()["paths"]
    assert page.locator(drawn).count() >= len(routes)
    scripts = [b for b in blocked if "script" in b and "worker" not in b.lower()]  # ReDoc's search worker is refused
    assert not scripts, scripts


def test_text_from_the_data_is_cut_with_its_whole_on_hover_and_bidi_controls_are_neutralised(page, service):
    """Every value the page shows goes through el(): a 100k-character title shows 300 characters (the whole in its
    tooltip), and a U+202E in a label cannot turn the text after it around ("daisy RTL" read "daisy LTR")."""
    open_page(page, service, "/")
    long_title = page.evaluate('(() => { const n = el("a", {}, "x".repeat(100000)); '
                               "return [n.textContent.length, n.title.length]; })()")  # fmt: skip
    assert long_title == [300, 100_000]
    label = page.evaluate('el("span", {title: "a\\u202eb"}, "daisy \\u202eRTL \\u2066x\\u2069").outerHTML')
    assert label == '<span title="ab">daisy RTL x</span>'
    id_link = page.evaluate('el("a", {href: here("item", "t\\u202e1")}, "t").getAttribute("href")')
    assert id_link == "/?item=t%E2%80%AE1"  # a link keeps the id as it is: it must find the item
