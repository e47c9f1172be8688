"""The ``long`` format: CSV or Parquet with user_id,item_id and optional count,position,timestamp columns."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from recsys import schemas as S
from recsys.io.files import is_parquet, list_files
from recsys.io.formats import columns_shown, likely_format
from recsys.io.rejects import Check, ReadResult, id_checks, integer_check, item_id_checks, split_valid
from recsys.settings import InputSettings

REQUIRED = (S.USER_ID, S.ITEM_ID)
OPTIONAL = (S.COUNT, S.POSITION, S.TIMESTAMP)
_CORRUPT = "_corrupt_record"


def _read_csv(spark: SparkSession, path: str) -> tuple[DataFrame, Column, list[Check]]:
    """All columns as strings; rows with the wrong number of fields are kept whole in the corrupt column.

    Quotes inside a quoted field are doubled, as RFC 4180 and every CSV writer (polars, pandas, Python's csv)
    write them; Spark's default escape is a backslash, which would keep the doubled quotes in the id."""
    header = spark.read.option("header", True).option("escape", '"').csv(path).columns
    schema = StructType([StructField(c, StringType()) for c in header] + [StructField(_CORRUPT, StringType())])
    df = (
        spark.read.schema(schema)
        .option("header", True)
        .option("escape", '"')
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", _CORRUPT)
        .option("encoding", "UTF-8")
        .csv(path)
    )
    fields = F.concat_ws(",", *[F.coalesce(F.col(c), F.lit("")) for c in header])
    raw = F.coalesce(F.col(_CORRUPT), fields)
    return df, raw, [(F.col(_CORRUPT).isNotNull(), f"malformed CSV row (expected {len(header)} fields)")]


def _read_parquet(spark: SparkSession, path: str) -> tuple[DataFrame, Column, list[Check]]:
    df = spark.read.parquet(path)
    raw = F.to_json(F.struct(*df.columns))
    return df.select(*[F.col(c).cast("string").alias(c) for c in df.columns]), raw, []


#: Names metadata columns may not take: each recommended item's own fields in the API, and the catalogue's index.
RESERVED_METADATA = ("item", "score", S.ITEM_IDX)


def _table(spark: SparkSession, path: str, required: tuple[str, ...]) -> tuple[DataFrame, Column, list[Check]]:
    files = list_files(spark, path)
    df, raw, checks = _read_parquet(spark, path) if is_parquet(files) else _read_csv(spark, path)
    found = [c for c in df.columns if c != _CORRUPT]
    missing = [c for c in required if c not in found]
    if missing:
        likely = likely_format([f.name for f in files])
        hint = f"; these files look like --format {likely}" if likely not in (None, "long") else ""
        raise ValueError(
            f"{path}: missing required column(s) {', '.join(missing)}; found "
            f"{columns_shown(found) if found else 'no header at all'}{hint}"
        )
    return df, raw, checks


def read_long(
    spark: SparkSession,
    path: str,
    settings: InputSettings,
    items_path: str | None = None,
    playlists_path: str | None = None,
) -> ReadResult:
    """Read interactions; a user's rows in position order (else timestamp, else file order) form the playlist."""
    df, raw, checks = _table(spark, path, REQUIRED)
    df = df.withColumn(S.ROW, F.monotonically_increasing_id())
    checks += id_checks(S.USER_ID, settings.max_id_length) + item_id_checks(settings.max_id_length)

    parsed = {c: F.col(c).try_cast("long") for c in OPTIONAL if c in df.columns}
    for column, value in parsed.items():
        checks.append(integer_check(column, value))
    count = parsed.get(S.COUNT, F.lit(1).cast("long"))
    if S.COUNT in parsed:
        checks.append((count <= 0, f"{S.COUNT} must be positive"))
    timestamp = parsed.get(S.TIMESTAMP, F.lit(None).cast("long"))
    position = parsed.get(S.POSITION, parsed.get(S.TIMESTAMP, F.col(S.ROW)))

    valid, rejects = split_valid(df, checks, raw, source=path)
    interactions = valid.select(
        S.USER_ID, S.ITEM_ID, count.alias(S.COUNT), position.alias(S.POSITION), S.ROW, timestamp.alias(S.TIMESTAMP)
    )
    metadata = None
    if items_path:
        metadata, meta_rejects = read_item_metadata(spark, items_path, settings)
        rejects = rejects.unionByName(meta_rejects)
    names = None
    if playlists_path:
        names, name_rejects = read_playlist_names(spark, playlists_path, settings)
        rejects = rejects.unionByName(name_rejects)
    return ReadResult(interactions, rejects, metadata, names)


def _first_of_each(df: DataFrame, key: str) -> tuple[DataFrame, Check]:
    """``df`` with a check that refuses every row of a repeated ``key`` but its first, in file order."""
    df = df.withColumn(S.ROW, F.monotonically_increasing_id())
    first = F.row_number().over(Window.partitionBy(key).orderBy(S.ROW)) == 1
    return df.withColumn("_first", first), (~F.col("_first"), f"duplicate {key}")


def read_playlist_names(spark: SparkSession, path: str, settings: InputSettings) -> tuple[DataFrame, DataFrame]:
    """Playlist names (user_id, name), CSV or Parquet; a row without a name, or a user_id named twice after its
    first row, is a reject."""
    df, raw, checks = _table(spark, path, (S.USER_ID, S.NAME))
    df, duplicate = _first_of_each(df, S.USER_ID)
    checks += id_checks(S.USER_ID, settings.max_id_length)
    checks += [(F.col(S.NAME).isNull() | (F.trim(S.NAME) == ""), "missing name"), duplicate]
    valid, rejects = split_valid(df, checks, raw, source=path)
    return valid.select(S.USER_ID, S.NAME), rejects


def read_item_metadata(spark: SparkSession, path: str, settings: InputSettings) -> tuple[DataFrame, DataFrame]:
    """Item metadata (item_id plus any string columns); the first row of a repeated item_id wins. Columns named
    like the fields the service answers each item with, or the catalogue's index, are refused: they would
    overwrite them."""
    df, raw, checks = _table(spark, path, (S.ITEM_ID,))
    taken = [c for c in df.columns if c in RESERVED_METADATA]
    if taken:
        raise ValueError(
            f"{path}: column(s) {taken} would overwrite what every answer already says about an item "
            f"({', '.join(RESERVED_METADATA)}): rename them, for example to {[f'{c}_' for c in taken]}"
        )
    df, duplicate = _first_of_each(df, S.ITEM_ID)
    checks += item_id_checks(settings.max_id_length) + [duplicate]
    valid, rejects = split_valid(df, checks, raw, source=path)
    return valid.drop(S.ROW, "_first", _CORRUPT), rejects
