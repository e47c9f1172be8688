"""Readers on files with one malformed row of every kind: each lands in rejects with its reason."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recsys import schemas as S
from recsys.io import (
    InputSpec,
    RejectRatioExceeded,
    RejectReason,
    check_reject_ratio,
    read_interactions,
    summarize_rejects,
)
from recsys.settings import InputSettings
from tests.conftest import shared_dataset

pytestmark = pytest.mark.spark

SETTINGS = InputSettings(max_id_length=10)


def rows_by_user(df):
    return sorted((r[S.USER_ID], r[S.ITEM_ID], r[S.COUNT], r[S.POSITION]) for r in df.collect())


def reasons(df):
    return sorted(r[S.REASON] for r in df.collect())


def test_long_csv_sets_aside_each_kind_of_bad_row(spark, tmp_path):
    path = tmp_path / "clicks.csv"
    path.write_bytes(
        b"user_id,item_id,count,position\n"
        b"u1,a,2,0\n"
        b"u1,b,1,1\n"
        b"u2,a,1,0\n"
        b"u2,a,1\n"  # too few fields
        b",a,1,0\n"  # missing user
        b"u3,,1,0\n"  # missing item
        b"u3,a,x,0\n"  # count not numeric
        b"u3,a,-1,0\n"  # negative count
        b"u3,a,1,first\n"  # position not numeric
        b"u-with-a-long-id,a,1,0\n"  # over max_id_length
        b"u3,\xff\xfe,1,0\n"  # invalid UTF-8
        b'u3,"b,c",1,0\n'  # an item id no request could name (items=a,b)
    )
    result = read_interactions(spark, InputSpec(str(path), "long"), SETTINGS)
    assert rows_by_user(result.interactions) == [("u1", "a", 2, 0), ("u1", "b", 1, 1), ("u2", "a", 1, 0)]
    assert reasons(result.rejects) == sorted(
        [
            "malformed CSV row (expected 4 fields)",
            "missing user_id",
            "missing item_id",
            "count is not an integer",
            "count must be positive",
            "position is not an integer",
            "user_id longer than 10 characters",
            "item_id is not valid UTF-8",
            "item_id contains ',', which separates item ids in requests (/next?items=a,b)",
        ]
    )
    raws = {r[S.REASON]: r[S.RAW] for r in result.rejects.collect()}
    assert raws["count is not an integer"] == "u3,a,x,0"
    assert all(r[S.SOURCE] == str(path) for r in result.rejects.collect())


def test_long_csv_without_position_keeps_file_order_and_counts_one(spark, tmp_path):
    path = tmp_path / "clicks.csv"
    path.write_text("user_id,item_id\nu1,z\nu1,a\nu1,m\n")
    rows = sorted(
        read_interactions(spark, InputSpec(str(path), "long"), SETTINGS).interactions.collect(),
        key=lambda r: r[S.POSITION],
    )
    assert [r[S.ITEM_ID] for r in rows] == ["z", "a", "m"]
    assert {r[S.COUNT] for r in rows} == {1}


def test_long_csv_missing_required_column_is_a_clear_error(spark, tmp_path):
    path = tmp_path / "clicks.csv"
    path.write_text("user,item_id\nu1,a\n")
    with pytest.raises(ValueError, match=r"missing required column\(s\) user_id; found 'user', 'item_id'$"):
        read_interactions(spark, InputSpec(str(path), "long"), SETTINGS)


def test_a_yes_folder_read_as_long_says_which_format_it_looks_like_and_cuts_its_first_line(spark):
    """A Yes.com folder read as CSV has one "column": its whole first line, ~10 KB of song ids."""
    with pytest.raises(ValueError) as error:
        read_interactions(spark, InputSpec(str(shared_dataset("yes_small")), "long"), SETTINGS)
    message = str(error.value)
    assert len(message) < 300 and message.endswith("characters); these files look like --format yes"), message


def test_long_parquet_with_timestamps_orders_by_time(spark, tmp_path):
    path = tmp_path / "clicks.parquet"
    pq.write_table(
        pa.table({"user_id": ["u1", "u1", "u1", None], "item_id": ["a", "b", "c", "d"], "timestamp": [30, 10, 20, 5]}),
        path,
    )
    result = read_interactions(spark, InputSpec(str(path), "long"), SETTINGS)
    rows = sorted(result.interactions.collect(), key=lambda r: r[S.POSITION])
    assert [r[S.ITEM_ID] for r in rows] == ["b", "c", "a"]
    assert reasons(result.rejects) == ["missing user_id"]


def test_item_metadata_rejects_duplicates_and_missing_ids(spark, tmp_path):
    clicks, items = tmp_path / "clicks.csv", tmp_path / "items.csv"
    clicks.write_text("user_id,item_id\nu1,a\n")
    items.write_text('item_id,title\na,First\na,Again\n,Nameless\n"a,b",Comma\n')
    result = read_interactions(spark, InputSpec(str(clicks), "long", items=str(items)), SETTINGS)
    assert [(r[S.ITEM_ID], r["title"]) for r in result.item_metadata.collect()] == [("a", "First")]
    comma = "item_id contains ',', which separates item ids in requests (/next?items=a,b)"
    assert reasons(result.rejects) == sorted(["duplicate item_id", "missing item_id", comma])


def test_playlist_names_join_the_users_and_reject_what_names_nothing(spark, tmp_path):
    clicks, playlists = tmp_path / "clicks.csv", tmp_path / "playlists.csv"
    clicks.write_text("user_id,item_id\nu1,a\nu2,b\nu3,a\n")
    playlists.write_text("user_id,name\nu1,Road Trip 🚗\nu1,again\nu2,\n,nobody\n")
    result = read_interactions(spark, InputSpec(str(clicks), "long", playlists=str(playlists)), SETTINGS)
    assert reasons(result.rejects) == ["duplicate user_id", "missing name", "missing user_id"]
    users = spark.createDataFrame([("u1", 0), ("u2", 1), ("u3", 2)], [S.USER_ID, S.USER_IDX])
    roster = sorted((r[S.USER_IDX], r[S.USER_ID], r[S.NAME]) for r in result.roster(users).collect())
    assert roster == [(0, "u1", "Road Trip 🚗"), (1, "u2", None), (2, "u3", None)]
    with pytest.raises(ValueError, match="--playlists is for --format long"):
        InputSpec(str(tmp_path), "mpd", playlists=str(playlists))


def test_item_metadata_may_not_overwrite_an_answer_s_own_fields(spark, tmp_path):
    clicks, items = tmp_path / "clicks.csv", tmp_path / "items.csv"
    clicks.write_text("user_id,item_id\nu1,a\n")
    items.write_text("item_id,title,score,item\na,First,5,x\n")
    with pytest.raises(ValueError, match=r"column\(s\) \['score', 'item'\] would overwrite .* \['score_', 'item_'\]"):
        read_interactions(spark, InputSpec(str(clicks), "long", items=str(items)), SETTINGS)


def test_yes_folder_reads_playlists_by_line_and_rejects_bad_tokens(spark, tmp_path):
    (tmp_path / "song_hash.txt").write_text(
        "0\tSong A\tArtist A\n1\tSong B\tArtist B\n2\tSong C\tArtist C\nbroken line\n"
    )
    (tmp_path / "train.txt").write_text("111 222 333\n5 5 5\n0 1 2 \n2 0 \n\n1 x 7 \n")
    result = read_interactions(spark, InputSpec(str(tmp_path), "yes"), SETTINGS)
    assert rows_by_user(result.interactions) == [
        ("0", "0", 1, 0),
        ("0", "1", 1, 1),
        ("0", "2", 1, 2),
        ("1", "0", 1, 1),
        ("1", "2", 1, 0),
        ("3", "1", 1, 0),
    ]
    assert reasons(result.rejects) == sorted(
        [
            "expected id<TAB>title<TAB>artist",
            "empty playlist",
            "song id is not an integer",
            "song id not in song_hash.txt",
        ]
    )
    titles = {r[S.ITEM_ID]: (r["title"], r["artist"]) for r in result.item_metadata.collect()}
    assert titles["1"] == ("Song B", "Artist B")


def test_reject_summary_and_ratio_name_the_input_and_show_bad_rows(spark, tmp_path):
    path = tmp_path / "clicks.csv"
    path.write_text("user_id,item_id,count\n" + "u1,a,1\n" * 989 + ",a,1\n" * 8 + "u2,b,-3\n" * 3)
    reasons = summarize_rejects(read_interactions(spark, InputSpec(str(path), "long"), SETTINGS).rejects)
    assert reasons == [RejectReason("missing user_id", 8, ",a,1"), RejectReason("count must be positive", 3, "u2,b,-3")]
    check_reject_ratio(str(path), 1000, reasons[:1], max_ratio=0.01)  # 0.8%: within the limit
    with pytest.raises(
        RejectRatioExceeded,
        match=r"clicks.csv: 11 of 1000 rows \(1.10%\)[\s\S]*"
        r"missing user_id \(8 rows\), first: ',a,1'",
    ):
        check_reject_ratio(str(path), 1000, reasons, max_ratio=0.01)
    with pytest.raises(RejectRatioExceeded, match="no rows read"):
        check_reject_ratio("empty.csv", 0, [], max_ratio=0.5)


def test_unknown_format_and_misplaced_side_files_are_refused():
    with pytest.raises(ValueError, match="unknown input format 'csv'"):
        InputSpec("x", "csv")
    with pytest.raises(ValueError, match="--items is for --format long"):
        InputSpec("x", "yes", items="t.csv")
    with pytest.raises(ValueError, match="--row-labels"):
        InputSpec("x", "long", row_labels="r.txt")
