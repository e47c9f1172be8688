"""Where each part of a bundle lives inside its version folder: one place, so the writer and readers agree.

Kept apart from the pipeline so that readers (the service, recommend-for-all) need not import Spark.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

USERS = "users"
ITEMS = "items"
REJECTS = "rejects"
RATINGS = "tables/ratings"
SEQUENCES = "tables/sequences"
COOCCURRENCE = "tables/cooccurrence"
TRANSITIONS = "tables/transitions"  # directed: what follows each item (the sequential rules)
ALS_USER_FACTORS = "vectors/als_user_factors.npy"
ALS_ITEM_FACTORS = "vectors/als_item_factors.npy"
ITEM2VEC_ITEM_VECTORS = "vectors/item2vec_item_vectors.npy"
ITEM2VEC_USER_VECTORS = "vectors/item2vec_user_vectors.npy"
ITEM2VEC_OUTPUT_VECTORS = "vectors/item2vec_output_vectors.npy"  # syn1neg: scores the next song
EASE_WEIGHTS = "models/ease.npz"  # sparse item x item weights; absent where the catalogue was too large
RANKER_MODEL = "models/ranker.txt"  # LightGBM's text format; only where ranker.enabled
TITLE_MODEL = "models/title.npz"  # names and words to tracks; only where the input names its playlists
INDEX_ITEMS_ALS = "indexes/items_als.faiss"
INDEX_ITEMS_ITEM2VEC = "indexes/items_item2vec.faiss"
INDEX_ITEMS_ITEM2VEC_NEXT = "indexes/items_item2vec_next.faiss"  # output vectors: next-song search
INDEX_USERS_ITEM2VEC = "indexes/users_item2vec.faiss"
REPORT = "report.json"
REPORT_HTML = "report.html"  # the same evaluation with its charts, one self-contained page (GET /report)

# Image bundles (jobs/index_images.py): manifest kind "images"
IMAGES = "images.parquet"  # image_idx, image_id (path under the image folder), label, sha256, width, height
IMAGE_THUMBNAILS = "thumbnails.parquet"  # image_idx, jpeg: what the service's page shows (never the folder)
IMAGE_VECTORS = "vectors/images.npy"  # L2-normalised backbone features, image_idx order
INDEX_IMAGES = "indexes/images.faiss"
IMAGE_HEAD = "models/image_head.npz"  # weights, bias, class names: arrays only, never pickle


def writable(folder: Path, relative: str) -> Path:
    """``folder / relative`` with its parent folders made: where one part of a bundle is saved."""
    target = folder / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


@dataclass(frozen=True)
class Tables:
    """Where one set of Spark tables was written (a bundle's, or the evaluation's training part), and the catalogue
    size they index into."""

    ratings: str
    sequences: str
    cooccurrence: str
    transitions: str
    n_users: int
    n_items: int

    @classmethod
    def of(cls, folder: Path, n_users: int, n_items: int) -> Tables:
        """The tables laid out in ``folder`` as a bundle lays them out."""
        paths = (str(folder / table) for table in (RATINGS, SEQUENCES, COOCCURRENCE, TRANSITIONS))
        return cls(*paths, n_users, n_items)


@dataclass(frozen=True)
class RankerSplit:
    """Where the ranker's training split was written (recsys/spark/protocol.py): the tables its first stage is
    fitted on, the held-out items that label their candidates, and (split=users) the ratings and sequences tables
    of what the held-out users show."""

    tables: Tables
    holdout: str
    given: tuple[str, str] | None = None


@dataclass(frozen=True)
class SplitTables:
    """Where one evaluation split was written (recsys/spark/protocol.py): the training part's tables, the held-out
    pairs, the held-out users' given items (split=users, challenge: their ratings and sequences tables) and, for
    the challenge split, each held-out playlist's category (an index into recsys.challenge.CATEGORIES); where
    ranker.enabled, the ranker's split carved from the training part."""

    split: str
    protocol: str
    tables: Tables
    holdout: str
    given: tuple[str, str] | None
    categories: dict[int, int] | None
    ranker: RankerSplit | None = None
