"""Row validation shared by the readers: the first failed check names the reason, nothing is dropped silently."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from recsys import schemas as S


@dataclass(frozen=True)
class ReadResult:
    """What a reader hands the pipeline: valid rows, refused rows with reasons, optional item metadata and
    playlist names (user_id, name)."""

    interactions: DataFrame
    rejects: DataFrame
    item_metadata: DataFrame | None
    names: DataFrame | None = None

    def catalogue(self, items: DataFrame) -> DataFrame:
        """The item index (item_id, item_idx) with this input's metadata beside each item, where it has any."""
        return items if self.item_metadata is None else items.join(self.item_metadata, S.ITEM_ID, "left")

    def roster(self, users: DataFrame) -> DataFrame:
        """The user index (user_idx, user_id) with each playlist's name beside it, where the input names them."""
        users = users.select(S.USER_IDX, S.USER_ID)
        return users if self.names is None else users.join(self.names, S.USER_ID, "left")


class RejectRatioExceeded(RuntimeError):
    """More input rows were malformed than input.max_reject_ratio allows."""


class UnreadableInput(ValueError):
    """Spark could not read the input at all (a truncated Parquet file, a folder of something else)."""

    @classmethod
    def of(cls, path: str, input_format: str, error: Exception) -> UnreadableInput:
        """The input and the first line of Spark's own reason (a JVM error's is after its "...Exception: ")."""
        lines = str(error).splitlines()
        reason = next((line.split("Exception: ", 1)[1] for line in lines if "Exception: " in line), lines[0])
        return cls(f"{path}: cannot be read as --format {input_format}: {reason.strip()}")


Check = tuple[Column, str]


def id_checks(column: str, max_length: int) -> list[Check]:
    """Missing, over-long and badly encoded ids (invalid UTF-8 decodes to U+FFFD)."""
    col = F.col(column)
    return [
        (col.isNull() | (F.trim(col) == ""), f"missing {column}"),
        (F.length(col) > max_length, f"{column} longer than {max_length} characters"),
        (col.contains("\ufffd"), f"{column} is not valid UTF-8"),
    ]


#: What separates item ids in a request (GET /next?items=a,b, /item-details, the page's ?items=): an item id
#: holding one could never be asked for, so it is refused here, at the build, with that reason.
ITEM_SEPARATOR = ","


def item_id_checks(max_length: int) -> list[Check]:
    """id_checks for item ids, and no ITEM_SEPARATOR inside one."""
    reason = f"{S.ITEM_ID} contains {ITEM_SEPARATOR!r}, which separates item ids in requests (/next?items=a,b)"
    return [*id_checks(S.ITEM_ID, max_length), (F.col(S.ITEM_ID).contains(ITEM_SEPARATOR), reason)]


def integer_check(column: str, parsed: Column, what: str = "an integer") -> Check:
    """``parsed`` is the try_cast of ``column``: null there but not in the raw value means it did not parse."""
    return (parsed.isNull(), f"{column} is not {what}")


def split_valid(df: DataFrame, checks: list[Check], raw: Column, source: str | Column) -> tuple[DataFrame, DataFrame]:
    """(rows passing every check, rejects (source, raw, reason) naming the first failed check).

    ``source`` names the input: a path, or a column holding each row's file.
    """
    reason = F.coalesce(*[F.when(failed, F.lit(message)) for failed, message in checks])
    marked = df.withColumn("_reason", reason)
    valid = marked.where(F.col("_reason").isNull()).drop("_reason")
    rejects = marked.where(F.col("_reason").isNotNull()).select(
        (F.lit(source) if isinstance(source, str) else source).alias(S.SOURCE),
        raw.alias(S.RAW),
        F.col("_reason").alias(S.REASON),
    )
    return valid, rejects


@dataclass(frozen=True)
class RejectReason:
    """One reason rows were refused: how many, and the first such row as read."""

    reason: str
    count: int
    example: str


def summarize_rejects(rejects: DataFrame) -> list[RejectReason]:
    """Count and an example per reason, most frequent first (one Spark action)."""
    rows = rejects.groupBy(S.REASON).agg(F.count(F.lit(1)).alias("n"), F.first(S.RAW).alias("example")).collect()
    return sorted((RejectReason(r[S.REASON], r["n"], r["example"]) for r in rows), key=lambda r: (-r.count, r.reason))


def check_reject_ratio(source: str, total: int, reasons: list[RejectReason], max_ratio: float) -> None:
    """Stop with a message naming the input and showing bad rows when too many rows were refused."""
    if total == 0:
        raise RejectRatioExceeded(f"{source}: no rows read; is the path or --format right?")
    rejected = sum(r.count for r in reasons)
    ratio = rejected / total
    if ratio > max_ratio:
        shown = "\n".join(f"  {r.reason} ({r.count} rows), first: {r.example!r}" for r in reasons)
        raise RejectRatioExceeded(
            f"{source}: {rejected} of {total} rows ({ratio:.2%}) were malformed, above "
            f"input.max_reject_ratio={max_ratio}. Bad rows by reason:\n{shown}"
        )
