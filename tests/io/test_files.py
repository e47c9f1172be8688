"""Inputs are listed through Hadoop's FileSystem API: plain paths and file: URIs alike (hdfs:/s3a: the same way)."""

import pytest

from recsys import schemas as S
from recsys.io import InputSpec, read_interactions
from recsys.io.files import fingerprint, is_parquet, list_files
from recsys.settings import InputSettings

pytestmark = pytest.mark.spark


def test_listing_a_folder_by_path_or_uri_gives_the_same_files(spark, tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.csv").write_text("x")
    (tmp_path / "sub" / "b.csv").write_text("yy")
    by_path, by_uri = list_files(spark, str(tmp_path)), list_files(spark, tmp_path.as_uri())
    assert [(f.name, f.size) for f in by_path] == [("a.csv", 1), ("sub/b.csv", 2)]
    assert by_path == by_uri and fingerprint(by_path) == fingerprint(by_uri)
    assert [f.name for f in list_files(spark, str(tmp_path / "a.csv"))] == ["a.csv"]

    (tmp_path / "a.csv").write_text("changed")
    assert fingerprint(list_files(spark, str(tmp_path))) != fingerprint(by_path)


def test_missing_input_names_itself(spark, tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        list_files(spark, str(tmp_path / "nothing-here"))


def test_parquet_is_recognised_by_its_part_files(spark, tmp_path):
    spark.createDataFrame([("u", "i")], "user_id string, item_id string").write.parquet(str(tmp_path / "log"))
    (tmp_path / "log.csv").write_text("user_id,item_id\nu,i\n")
    assert is_parquet(list_files(spark, (tmp_path / "log").as_uri()))
    assert not is_parquet(list_files(spark, str(tmp_path / "log.csv")))


def test_readers_take_uris(spark, tmp_path):
    spark.createDataFrame([("u", "i"), ("u", "j")], "user_id string, item_id string").write.parquet(
        str(tmp_path / "log")
    )
    result = read_interactions(spark, InputSpec((tmp_path / "log").as_uri(), "long"), InputSettings())
    assert sorted(r[S.ITEM_ID] for r in result.interactions.collect()) == ["i", "j"]

    yes = tmp_path / "yes"
    yes.mkdir()
    (yes / "song_hash.txt").write_text("0\tA\tX\n1\tB\tY\n")
    (yes / "train.txt").write_text("1 2\n1 1\n0 1 \n")
    result = read_interactions(spark, InputSpec(yes.as_uri() + "/", "yes"), InputSettings())
    assert sorted(r[S.ITEM_ID] for r in result.interactions.collect()) == ["0", "1"]
