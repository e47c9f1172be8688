"""What the page browses by, over HTTP against the e2e bundle: search, a user's items, items' metadata, the live
bundle and its report, and the page's own files; none of it writes, and no request path reaches the disk."""

import polars as pl
import pytest

from recsys import layout
from recsys.artifacts import resolve, verify
from serving.headers import POLICY

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.serve]


def test_search_finds_items_by_title_words_and_users_by_id_prefix(built, service):
    _, synth = built
    found = service.get("/search", q="track 17", k=5).json()
    holders = synth.clicks.unique(["user_id", "item_id"]).group_by("item_id").len()
    held = dict(zip(holders["item_id"], holders["len"], strict=True))
    items = [item["item"] for item in found["items"]]
    # "track" matches every title and "17" the titles with a word starting 17: t17, t170-t179; most held first
    expected = sorted([f"t{n}" for n in [17, *range(170, 180)]], key=lambda i: (-held[i], int(i[1:])))[:5]
    assert items == expected and [item["score"] for item in found["items"]] == [held[i] for i in expected]
    assert found["items"][0]["title"].startswith("Track 17")  # metadata travels as everywhere else
    users = service.get("/search", q="p14", k=50).json()["users"]
    counts = synth.clicks.unique(["user_id", "item_id"]).group_by("user_id").len()
    by_user = {u: n for u, n in zip(counts["user_id"], counts["len"], strict=True) if u.startswith("p14")}
    assert len(by_user) == 111 and len(users) == 50  # p14, p140-p149, p1400-p1499: the 50 holding most
    assert all(u["items"] == by_user[u["user"]] for u in users)
    assert [u["items"] for u in users] == sorted(by_user.values(), reverse=True)[:50]


@pytest.mark.parametrize(
    ("params", "parameter"), [({"q": ""}, "q"), ({"q": "x" * 201}, "q"), ({"q": "t", "k": 51}, "k")]
)
def test_bad_searches_get_json_errors_naming_the_parameter(service, params, parameter):
    answer = service.get("/search", **params)
    assert answer.status_code == 422 and answer.json()["parameter"] == parameter


def test_a_users_items_come_latest_first_with_their_metadata(built, service):
    _, synth = built
    played = synth.clicks.filter(pl.col("user_id") == "p3").sort("position")["item_id"].to_list()
    answer = service.get("/user-items", user="p3", k=3).json()
    assert answer["total"] == len(set(played)) and answer["name"] is None
    assert [item["item"] for item in answer["items"]] == list(dict.fromkeys(reversed(played)))[:3]
    assert all(item["title"] == f"Track {item['item'][1:]}" for item in answer["items"])
    missing = service.get("/user-items", user="nobody")
    assert missing.status_code == 404 and missing.json()["parameter"] == "user"


def test_item_details_give_each_items_holders_and_name_an_unknown_one(built, service):
    _, synth = built
    answer = service.get("/item-details", items="t5,t0").json()
    holders = synth.clicks.unique(["user_id", "item_id"]).group_by("item_id").len()
    held = dict(zip(holders["item_id"], holders["len"], strict=True))
    assert [(i["item"], i["score"]) for i in answer["items"]] == [("t5", held["t5"]), ("t0", held["t0"])]
    missing = service.get("/item-details", items="t0,nope")
    assert missing.status_code == 404 and missing.json()["parameter"] == "items" and "nope" in missing.json()["error"]


def test_the_bundle_says_how_it_was_made_and_serves_its_report(built, service):
    folder, _ = built
    bundle = resolve(folder / "artifacts", "e2e")
    manifest = verify(bundle)
    about = service.get("/bundle").json()
    assert about["version"] == bundle.name and about["counts"] == manifest["counts"]
    assert about["created"] == manifest["created"] and manifest["input"]["path"].startswith("/")
    assert about["input"] == {"format": "long", "path": "clicks.csv", "items": "tracks.csv"}  # base names only
    assert about["report"] == "/report" and about["images"] is None
    report = service.get("/report")
    assert report.headers["content-type"].startswith("text/html")
    assert report.content == (bundle / layout.REPORT_HTML).read_bytes()


def test_the_page_and_its_files_are_served_from_the_package_and_nothing_else(service):
    page = service.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == POLICY and "/page/page.js" in page.text
    for asset in ("page.js", "page.css", "favicon.svg"):
        assert service.get(f"/page/{asset}").status_code == 200, asset
    for escape in ("/page/../serving/app.py", "/page/%2e%2e/app.py", "/page/..%2fapp.py", "/page//etc/passwd"):
        assert service.get(escape).status_code == 404, escape
    assert service.get("/page/index.html").status_code == 404  # the page is served at / alone, with its policy


def test_every_answer_carries_the_security_headers_and_every_html_one_the_policy(built, service):
    import httpx

    answers = {
        path: service.get(path)
        for path in ("/", "/report", "/docs", "/redoc", "/healthz", "/metrics", "/openapi.json", "/page/page.js",
                     "/no-such-route", "/recommend?user=nobody", "/recommend?k=0")
    }  # fmt: skip
    answers["413"] = httpx.post(f"{service.base}/recommend/batch", content=b"[" * 2_000_000, timeout=30,
                                headers={"content-type": "application/json"})  # fmt: skip
    assert answers["413"].status_code == 413 and answers["/recommend?k=0"].status_code == 422
    for path, answer in answers.items():
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert answer.headers["referrer-policy"] == "no-referrer", path
        html = answer.headers["content-type"].startswith("text/html")
        assert html == (path in ("/", "/report", "/docs", "/redoc")), path
        assert answer.headers.get("content-security-policy") == (POLICY if html else None), path


def test_no_redirect_names_a_host(service):
    """Starlette's slash redirect built its Location from the Host header: any host a request named."""
    import httpx

    for path in ("/page", "/recommend/", "/docs/", "/report/"):
        answer = httpx.get(f"{service.base}{path}", headers={"host": "evil.example"}, timeout=10)
        assert answer.status_code == 404 and "location" not in answer.headers, (path, answer.headers)


def test_browsing_added_no_route_that_writes(service):
    """Everything the page and its endpoints added reads: the routes that take a body are the ones that did
    before it (and POST /admin/reload, where a token enables it)."""
    paths = service.get("/openapi.json").json()["paths"]
    writes = {(method, path) for path, item in paths.items() for method in item if method != "get"}
    assert writes == {("post", "/recommend"), ("post", "/recommend/batch"), ("post", "/similar-images")}
