"""Model families behind one batch-first interface (see recsys.models.base)."""

from recsys.models.als import ALS
from recsys.models.base import History, Recommender
from recsys.models.blend import Blend
from recsys.models.cooccurrence import CoOccurrence
from recsys.models.ease import EASE
from recsys.models.item2vec import Item2Vec
from recsys.models.popularity import Popularity
from recsys.models.sequential import SequentialRules
from recsys.models.user_knn import UserKNN

__all__ = [
    "ALS",
    "Blend",
    "CoOccurrence",
    "EASE",
    "History",
    "Item2Vec",
    "Popularity",
    "Recommender",
    "SequentialRules",
    "UserKNN",
]
