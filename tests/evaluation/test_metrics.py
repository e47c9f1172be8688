"""Metrics against cases computed by hand."""

import math

import numpy as np
import pytest

from recsys.evaluation.metrics import ndcg_at_k, recall_at_k

RECOMMENDED = np.array([[5, 3, 9, -1], [1, 2, 3, 4], [7, 8, 9, 10]])
RELEVANT = [np.array([3]), np.array([4, 1, 99]), np.array([42])]


def test_recall_is_hits_over_relevant():
    # user 0: 3 at rank 2 -> 1/1; user 1: 1 and 4 -> 2/3; user 2: nothing -> 0
    assert recall_at_k(RECOMMENDED, RELEVANT, 4) == pytest.approx((1 + 2 / 3 + 0) / 3)
    # at k=1 only user 1's first item counts: 1/3
    assert recall_at_k(RECOMMENDED, RELEVANT, 1) == pytest.approx((0 + 1 / 3 + 0) / 3)


def test_ndcg_discounts_by_rank_and_normalises_by_ideal():
    user0 = (1 / math.log2(3)) / 1.0
    user1 = (1 / math.log2(2) + 1 / math.log2(5)) / (1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4))
    assert ndcg_at_k(RECOMMENDED, RELEVANT, 4) == pytest.approx((user0 + user1 + 0) / 3)


def test_padding_never_counts_as_a_hit():
    assert recall_at_k(np.array([[-1, -1]]), [np.array([-1])], 2) == 0.0


def test_perfect_ranking_scores_one():
    assert ndcg_at_k(np.array([[2, 1, 0]]), [np.array([2, 1])], 3) == pytest.approx(1.0)
    assert recall_at_k(np.array([[2, 1, 0]]), [np.array([2, 1])], 3) == 1.0
