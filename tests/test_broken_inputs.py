"""Deliberately broken inputs through the whole build: each one is either processed correctly or stopped with a
message naming the problem, and none leaves a bundle, or a half-written one, that would serve wrong answers."""

import random
from urllib.parse import quote

import httpx
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recsys.artifacts import resolve, verify
from recsys.bundle.reader import LoadedBundle
from recsys.io import InputSpec, RejectRatioExceeded, UnreadableInput
from recsys.pipeline import BuildRequest, build_bundle
from recsys.settings import load_settings
from tests.conftest import Service

pytestmark = [pytest.mark.spark, pytest.mark.slow]

FAST = ["item2vec.epochs=2", "als.iterations=3"]


def build(spark, tmp_path, path, name="b"):
    return build_bundle(spark, BuildRequest(InputSpec(str(path), "long"), str(tmp_path / "out"), name),
                        load_settings(FAST))  # fmt: skip


def truncated_parquet(folder):
    table = pa.table({"user_id": [f"u{i % 50}" for i in range(2000)], "item_id": [f"i{i % 97}" for i in range(2000)]})
    pq.write_table(table, folder / "full.parquet")
    data = (folder / "full.parquet").read_bytes()
    (folder / "log.parquet").write_bytes(data[: len(data) // 2])
    return folder / "log.parquet"


def wrong_schema(folder):
    table = pa.table({"user_id": list(range(100)), "item_id": [float(i) for i in range(100)], "count": ["x"] * 100})
    pq.write_table(table, folder / "log.parquet")
    return folder / "log.parquet"


def header_only(folder):
    (folder / "log.csv").write_text("user_id,item_id\n")
    return folder / "log.csv"


def empty_file(folder):
    (folder / "log.csv").write_text("")
    return folder / "log.csv"


@pytest.mark.parametrize(
    "make, error, message",
    [
        (truncated_parquet, UnreadableInput, "cannot be read as --format long: .*Could not read footer"),
        (wrong_schema, RejectRatioExceeded, "(?s)100 of 100 rows .* were malformed.*count is not an integer"),
        (header_only, RejectRatioExceeded, "no rows read; is the path or --format right"),
        (empty_file, ValueError, r"missing required column\(s\) user_id, item_id; found no header at all"),
    ],
    ids=["truncated parquet", "wrong schema", "header only", "empty file"],
)
def test_an_input_that_cannot_be_used_stops_the_build_naming_it(spark, tmp_path, make, error, message):
    path = make(tmp_path)
    with pytest.raises(error, match=message) as raised:
        build(spark, tmp_path, path)
    assert str(path) in str(raised.value)
    assert not (tmp_path / "out").exists()  # nothing published, nothing half-written, no empty bundle folders


def test_only_duplicate_rows_make_one_rating_and_nothing_to_recommend(spark, tmp_path):
    (tmp_path / "log.csv").write_text("user_id,item_id\n" + "u1,i1\n" * 1000)
    folder = build(spark, tmp_path, tmp_path / "log.csv")
    manifest = verify(folder)
    assert manifest["counts"] == {"interactions": 1000, "rejects": 0, "users": 1, "items": 1, "ratings": 1}
    assert manifest["evaluation"] is None  # nothing can be held out of one pair: the build says so and goes on
    bundle = LoadedBundle.load(folder)
    for model in ("als", "item2vec", "blend"):
        assert bundle.recommend("u1", 10, model) == [], model  # its only item is already held
    assert bundle.similar_items("i1", 5) == []


def test_a_single_user_gets_no_item_it_holds(spark, tmp_path):
    (tmp_path / "log.csv").write_text("user_id,item_id\n" + "".join(f"u1,i{i}\n" for i in range(30)))
    folder = build(spark, tmp_path, tmp_path / "log.csv")
    assert verify(folder)["counts"]["users"] == 1
    bundle = LoadedBundle.load(folder)
    assert bundle.recommend("u1", 10) == []
    similar = bundle.similar_items("i3", 5)
    assert len(similar) == 5 and "i3" not in [s["item"] for s in similar]


USERS = ["ü-ser", "a,b", 'quote"d', "slash/../x", "back\\slash", "spa ce", "日本", "q?x=1&k=2#f"]
# item ids may hold anything but a comma, which separates them in requests (a reject, tests/io/test_readers.py)
ITEMS = ["trä%2Cck", '"q"', "../../etc/passwd", "a/b", "emoji🎵", "x\\y", "plain", "semi;colon"]


def test_ids_with_unicode_commas_quotes_and_separators_round_trip_through_http(spark, tmp_path):
    rng = random.Random(0)
    rows = [
        {"user_id": f"{USERS[n % len(USERS)]}{n}", "item_id": f"{ITEMS[j % len(ITEMS)]}{j}"}
        for n in range(240)
        for j in rng.sample(range(60), 8)
    ]
    pl.DataFrame(rows).write_csv(tmp_path / "log.csv")  # quoted where the CSV dialect needs it
    folder = build(spark, tmp_path, tmp_path / "log.csv", name="odd")
    items = set(pl.read_parquet(folder / "items" / "*.parquet")["item_id"].to_list())
    users = set(pl.read_parquet(folder / "users" / "*.parquet")["user_id"].to_list())
    assert items == {r["item_id"] for r in rows} and users == {r["user_id"] for r in rows}  # nothing mangled
    held = {}
    for r in rows:
        held.setdefault(r["user_id"], set()).add(r["item_id"])
    service = Service(tmp_path / "out", "odd")
    try:
        service.wait_ready()
        for user in [f"{u}{n}" for n, u in enumerate(USERS)]:
            answer = httpx.get(f"{service.base}/recommend?user={quote(user, safe='')}&k=5", timeout=10)
            assert answer.status_code == 200, (user, answer.text)
            got = [i["item"] for i in answer.json()["items"]]
            assert answer.json()["user"] == user and len(got) == 5, user
            assert set(got) <= items and not set(got) & held[user], user
        item = next(i for i in items if i.startswith("../../etc/passwd"))
        similar = httpx.get(f"{service.base}/similar-items", params={"item": item, "k": 3}, timeout=10)
        assert similar.status_code == 200 and {i["item"] for i in similar.json()["items"]} <= items
    finally:
        service.stop()
    assert resolve(tmp_path / "out", "odd") == folder
