"""Public rating datasets turned into the ``long`` format the jobs read (user_id,item_id[,count][,timestamp]).

python -m recsys.datasets movielens ../shared/data/movielens_latest_small data/movielens.csv
python -m recsys.datasets hetrec ../shared/data/hetrec2011_lastfm_2k data/hetrec.csv

- movielens: ratings.csv; ratings >= ``--min-rating`` (default 4, the usual implicit-feedback reading) become
  interactions, with their timestamps (so the temporal split applies).
- hetrec: Last.fm's user_artists.dat; each user-artist play count becomes the interaction's count ("ratings").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

from recsys import commands
from recsys import schemas as S


def movielens(folder: Path, min_rating: float = 4.0) -> pl.DataFrame:
    ratings = pl.read_csv(folder / "ratings.csv")
    return ratings.filter(pl.col("rating") >= min_rating).select(
        pl.col("userId").cast(pl.Utf8).alias(S.USER_ID),
        pl.col("movieId").cast(pl.Utf8).alias(S.ITEM_ID),
        pl.col("timestamp").alias(S.TIMESTAMP),
    )


def hetrec(folder: Path) -> pl.DataFrame:
    plays = pl.read_csv(folder / "user_artists.dat", separator="\t")
    return plays.select(
        pl.col("userID").cast(pl.Utf8).alias(S.USER_ID),
        pl.col("artistID").cast(pl.Utf8).alias(S.ITEM_ID),
        pl.col("weight").alias(S.COUNT),
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m recsys.datasets", description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", choices=["movielens", "hetrec"])
    parser.add_argument("source", type=Path, help="the dataset's folder")
    parser.add_argument("out", type=Path, help="CSV to write")
    parser.add_argument("--min-rating", type=float, default=4.0, help="movielens: lowest rating kept (default 4)")
    args = parser.parse_args(argv)
    table = movielens(args.source, args.min_rating) if args.dataset == "movielens" else hetrec(args.source)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.write_csv(args.out)
    print(f"{args.out}: {table.height:,} interactions")
    return 0


if __name__ == "__main__":
    sys.exit(commands.run("python -m recsys.datasets", main))
