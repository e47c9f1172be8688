"""evaluate() groups held-out pairs per user and reports every metric per model."""

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.evaluation.offline import evaluate, group_by_user, sample_users
from recsys.models.base import History


class Fixed:
    """Recommends the same ranked list to every user."""

    name = "fixed"

    def __init__(self, ranked: list[int]) -> None:
        self.ranked = np.array(ranked)

    def recommend(self, users, history, k):
        ids = np.tile(self.ranked[:k], (len(users), 1))
        return ids, -np.arange(k, dtype=np.float32)[None, :].repeat(len(users), 0)


def test_pairs_are_grouped_per_user():
    users, relevant = group_by_user(np.array([3, 1, 3, 1, 2]), np.array([30, 10, 31, 11, 20]))
    assert users.tolist() == [1, 2, 3]
    assert [r.tolist() for r in relevant] == [[10, 11], [20], [30, 31]]


def test_several_held_items_per_user_count_as_one_user_each():
    held = sp.csr_matrix(np.array([[1, 1, 0, 0, 0], [1, 0, 0, 0, 0]], dtype=np.float32))
    train = History(held, np.full((2, 1), -1, dtype=np.int32))
    # user 0 is to get items 2 and 3; user 1 item 4; every user is recommended [2, 4, 0]
    results = evaluate([Fixed([2, 4, 0])], train, np.array([0, 0, 1]), np.array([2, 3, 4]), k=3).metrics["fixed"]
    assert results["recall@3"] == pytest.approx((1 / 2 + 1) / 2)
    assert results["recall_normalized@3"] == pytest.approx((1 / 2 + 1) / 2)
    assert results["precision@3"] == pytest.approx((1 / 3 + 1 / 3) / 2)
    assert results["hit_rate@3"] == 1.0
    assert results["mrr@3"] == pytest.approx((1 + 1 / 2) / 2)
    assert results["coverage@3"] == pytest.approx(3 / 5)
    # popularity: item 0 held by both users (1.0), items 2 and 4 by none
    assert results["popularity@3"] == pytest.approx(1 / 3)


def test_the_challenge_metrics_and_the_recall_curve_come_from_the_same_ranking():
    held = sp.csr_matrix(np.array([[1, 1, 0, 0, 0], [1, 0, 0, 0, 0]], dtype=np.float32))
    train = History(held, np.full((2, 1), -1, dtype=np.int32))
    result = evaluate([Fixed([2, 4, 0])], train, np.array([0, 0, 1]), np.array([2, 3, 4]), k=3)
    metrics = result.metrics["fixed"]
    # R-precision: user 0's first 2 hold one of its 2 items, user 1's first 1 misses its item
    assert metrics["r_precision"] == pytest.approx((1 / 2 + 0) / 2)
    assert metrics["clicks"] == 0.0  # both first hits are on the first page of 10
    assert result.recall_curve["fixed"] == pytest.approx([(1 / 2 + 0) / 2, (1 / 2 + 1) / 2, (1 / 2 + 1) / 2])


def test_a_sample_of_users_keeps_every_pair_of_each_sampled_user():
    users = np.repeat(np.arange(50), 3)
    items = np.arange(150)
    kept_users, kept_items = sample_users(users, items, limit=10, seed=1)
    assert len(np.unique(kept_users)) == 10 and len(kept_users) == 30  # whole users, three pairs each
    assert (kept_items // 3 == kept_users).all()  # each pair still with its own user
    assert sample_users(users, items, limit=10, seed=1)[0].tolist() == kept_users.tolist()  # seeded
    assert sample_users(users, items, limit=0, seed=1)[0] is users  # 0: every user
    assert sample_users(users, items, limit=50, seed=1)[0] is users  # at the limit: nothing to sample


class Counted(Fixed):
    """A Fixed model that counts how often it was asked to rank."""

    def __init__(self, name: str, ranked: list[int]) -> None:
        super().__init__(ranked)
        self.name, self.calls = name, 0

    def recommend(self, users, history, k):
        self.calls += 1
        return super().recommend(users, history, k)


def test_a_blend_after_its_members_fuses_their_lists_instead_of_ranking_again():
    from recsys.models import Blend

    held = sp.csr_matrix(np.zeros((3, 6), dtype=np.float32))
    train = History(held, np.full((3, 1), -1, dtype=np.int32))
    users, items = np.array([0, 1, 2]), np.array([2, 5, 1])
    first, second = Counted("a", [2, 4, 0, 1, 3, 5]), Counted("b", [5, 1, 2, 0, 3, 4])
    blend = Blend([first, second], [1.0, 0.5], depth=6, rank_offset=1.0)
    together = evaluate([first, second, blend], train, users, items, k=3, depth=6).metrics["blend"]
    assert (first.calls, second.calls) == (1, 1)  # the blend reused their lists
    alone = evaluate([blend], train, users, items, k=3, depth=6).metrics["blend"]
    assert (first.calls, second.calls) == (2, 2) and together == alone
