"""MatrixMarket coordinate files: click matrices given as matrices (rows = users or playlists, columns = tracks).

``%%MatrixMarket matrix coordinate integer|real|pattern general``, comment lines, a size line ``rows cols nnz``,
then one ``i j [value]`` entry per line, 1-based. Optional label files name row i and column j by their line i
and j (1-based); without them the ids are the numbers. Entries keep file order as the playlist order.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from recsys import schemas as S
from recsys.io.lines import numbered_lines
from recsys.io.rejects import ReadResult, id_checks, integer_check, item_id_checks, split_valid
from recsys.settings import InputSettings

FIELDS = ("integer", "real", "pattern")


def parse_header(line: str, path: str) -> str:
    """The value field of a supported header; anything else is a clear error, not a pile of rejects."""
    tokens = line.strip().lower().split()
    if len(tokens) != 5 or tokens[0] != "%%matrixmarket" or tokens[1] != "matrix":
        raise ValueError(f"{path}: first line must be a %%MatrixMarket matrix header, got {line.strip()!r}")
    if tokens[2] != "coordinate" or tokens[3] not in FIELDS or tokens[4] != "general":
        raise ValueError(
            f"{path}: only 'coordinate {{integer|real|pattern}} general' matrices are supported, "
            f"got {' '.join(tokens[2:])!r}"
        )
    return tokens[3]


def _labels(spark: SparkSession, path: str | None, name: str) -> DataFrame | None:
    if path is None:
        return None
    return numbered_lines(spark, path).select((F.col("line") + 1).alias(f"_{name}_n"), F.col("value").alias(f"_{name}"))


def read_mtx(
    spark: SparkSession,
    path: str,
    settings: InputSettings,
    row_labels: str | None = None,
    column_labels: str | None = None,
) -> ReadResult:
    lines = numbered_lines(spark, path).cache()
    first = lines.where(F.col("line") == 0).first()
    field = parse_header(first["value"] if first else "", path)
    content = lines.where(~F.col("value").startswith("%") & (F.trim("value") != ""))
    size_row = content.orderBy("line").first()
    if size_row is None:
        raise ValueError(f"{path}: no size line (rows cols entries) after the header")
    try:
        n_rows, n_cols, _ = (int(x) for x in size_row["value"].split())
    except ValueError:
        raise ValueError(f"{path}: size line must be 'rows cols entries', got {size_row['value']!r}") from None

    parts = F.split(F.trim("value"), r"\s+")
    entries = content.where(F.col("line") > size_row["line"]).select(
        "value",
        "line",
        F.size(parts).alias("_n"),
        F.get(parts, 0).try_cast("long").alias("_i"),
        F.get(parts, 1).try_cast("long").alias("_j"),
        (F.lit(1.0) if field == "pattern" else F.get(parts, 2).try_cast("double")).alias("_v"),
    )
    rows, cols = _labels(spark, row_labels, "row"), _labels(spark, column_labels, "col")
    entries = entries.join(rows, entries["_i"] == rows["_row_n"], "left") if rows is not None else entries
    entries = entries.join(cols, entries["_j"] == cols["_col_n"], "left") if cols is not None else entries
    user_id = F.col("_row") if rows is not None else F.col("_i").cast("string")
    item_id = F.col("_col") if cols is not None else F.col("_j").cast("string")
    entries = entries.withColumn(S.USER_ID, user_id).withColumn(S.ITEM_ID, item_id)

    checks = [
        (F.col("_n") != (2 if field == "pattern" else 3), "expected 'row column value' (or 'row column' for pattern)"),
        integer_check("row", F.col("_i")),
        integer_check("column", F.col("_j")),
        ((F.col("_i") < 1) | (F.col("_i") > n_rows), f"row outside 1..{n_rows}"),
        ((F.col("_j") < 1) | (F.col("_j") > n_cols), f"column outside 1..{n_cols}"),
        integer_check("value", F.col("_v"), "a number"),
        (F.col("_v") <= 0, "value must be positive"),
        (F.col("_v") != F.floor("_v"), "value must be a whole number of clicks"),
        *id_checks(S.USER_ID, settings.max_id_length),
        *item_id_checks(settings.max_id_length),
    ]
    raw = F.format_string("line %d: %s", F.col("line") + 1, F.col("value"))
    valid, rejects = split_valid(entries, checks, raw, source=path)
    interactions = valid.select(
        S.USER_ID,
        S.ITEM_ID,
        F.col("_v").cast("long").alias(S.COUNT),
        F.col("line").alias(S.POSITION),
        F.col("line").alias(S.ROW),
        F.lit(None).cast("long").alias(S.TIMESTAMP),
    )
    return ReadResult(interactions, rejects, None)
