"""Metrics against cases computed by hand, and against trec_eval (pytrec_eval) on random rankings."""

import math

import numpy as np
import pytest

from recsys.metrics import (
    clicks,
    coverage_at_k,
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    normalized_recall_at_k,
    popularity_at_k,
    precision_at_k,
    r_precision,
    r_precision_with_artists,
    recall_at_k,
    recall_curve,
)

RECOMMENDED = np.array([[5, 3, 9, -1], [1, 2, 3, 4], [7, 8, 9, 10]])
RELEVANT = [np.array([3]), np.array([4, 1, 99]), np.array([42])]


def test_recall_is_hits_over_relevant_and_the_normalized_one_over_min_k_relevant():
    # user 0: 3 at rank 2 -> 1/1; user 1: 1 and 4 -> 2/3; user 2: nothing -> 0
    assert recall_at_k(RECOMMENDED, RELEVANT, 4) == pytest.approx((1 + 2 / 3 + 0) / 3)
    # at k=1 only user 1's first item counts: 1/3, normalised 1/min(1, 3) = 1
    assert recall_at_k(RECOMMENDED, RELEVANT, 1) == pytest.approx((0 + 1 / 3 + 0) / 3)
    assert normalized_recall_at_k(RECOMMENDED, RELEVANT, 1) == pytest.approx((0 + 1 + 0) / 3)
    assert normalized_recall_at_k(RECOMMENDED, RELEVANT, 4) == pytest.approx((1 + 2 / 3 + 0) / 3)


def test_the_recall_curve_is_recall_at_every_depth():
    # user 0: hit at rank 2 of 1; user 1: hits at ranks 1 and 4 of 3; user 2: none
    curve = recall_curve(RECOMMENDED, RELEVANT)
    assert curve.tolist() == pytest.approx([(1 / 3) / 3, (1 + 1 / 3) / 3, (1 + 1 / 3) / 3, (1 + 2 / 3) / 3])
    assert curve[-1] == pytest.approx(recall_at_k(RECOMMENDED, RELEVANT, 4))


def test_precision_hit_rate_and_mrr():
    assert precision_at_k(RECOMMENDED, RELEVANT, 4) == pytest.approx((1 / 4 + 2 / 4 + 0) / 3)
    assert hit_rate_at_k(RECOMMENDED, RELEVANT, 4) == pytest.approx(2 / 3)
    assert hit_rate_at_k(RECOMMENDED, RELEVANT, 1) == pytest.approx(1 / 3)
    assert mrr_at_k(RECOMMENDED, RELEVANT, 4) == pytest.approx((1 / 2 + 1 / 1 + 0) / 3)


def test_ndcg_discounts_by_rank_and_normalises_by_ideal():
    user0 = (1 / math.log2(3)) / 1.0
    user1 = (1 / math.log2(2) + 1 / math.log2(5)) / (1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4))
    assert ndcg_at_k(RECOMMENDED, RELEVANT, 4) == pytest.approx((user0 + user1 + 0) / 3)


def test_map_averages_precision_at_each_hit_over_min_k_relevant():
    # user 0: hit at rank 2 -> (1/2) / 1; user 1: hits at 1 and 4 -> (1/1 + 2/4) / min(4, 3)
    assert map_at_k(RECOMMENDED, RELEVANT, 4) == pytest.approx((1 / 2 + 1.5 / 3 + 0) / 3)


def test_r_precision_looks_at_the_first_relevant_count_only():
    # user 0: R=1, first item 5 misses; user 1: R=3, 1 in the first three; user 2: R=1, miss
    assert r_precision(RECOMMENDED, RELEVANT) == pytest.approx((0 + 1 / 3 + 0) / 3)


def test_r_precision_credits_an_artist_a_quarter_once():
    artist_of = np.array([0, 0, 1, 1, 2, 2, -1, -1])  # items 0..7
    # relevant 0 and 2 (artists 0 and 1); the first two recommended: 1 (artist 0, not relevant) and 2 (relevant)
    assert r_precision_with_artists(np.array([[1, 2, 0]]), [np.array([0, 2])], artist_of) == pytest.approx(1.25 / 2)
    # two non-relevant tracks by the same relevant artist earn its credit once
    assert r_precision_with_artists(np.array([[1, 1, 3]]), [np.array([0, 2])], artist_of) == pytest.approx(0.25 / 2)
    # an unknown artist is never credited, even when a relevant track's artist is unknown too
    assert r_precision_with_artists(np.array([[7, 2]]), [np.array([6, 0])], artist_of) == 0.0


def test_clicks_count_pages_of_ten_before_the_first_hit():
    ranked = np.arange(500)[None, :].repeat(3, axis=0)
    relevant = [np.array([0]), np.array([25, 499]), np.array([1000])]
    # rank 1 -> 0 clicks; rank 26 -> 2 clicks; no hit in 500 -> 51
    assert clicks(ranked, relevant) == pytest.approx((0 + 2 + 51) / 3)


def test_coverage_and_popularity_bias():
    assert coverage_at_k(RECOMMENDED, 2, 20) == pytest.approx(len({5, 3, 1, 2, 7, 8}) / 20)
    popularity = np.linspace(0, 1, 11)  # item i held by i/10 of users
    ranked = np.array([[10, 0], [5, -1]])
    assert popularity_at_k(ranked, 2, popularity) == pytest.approx(((1.0 + 0.0) / 2 + 0.5) / 2)


def test_padding_never_counts_as_a_hit():
    assert recall_at_k(np.array([[-1, -1]]), [np.array([-1])], 2) == 0.0


def test_perfect_ranking_scores_one():
    perfect = np.array([[2, 1, 0]])
    for metric in (ndcg_at_k, normalized_recall_at_k, map_at_k, mrr_at_k, hit_rate_at_k):
        assert metric(perfect, [np.array([2, 1])], 3) == pytest.approx(1.0), metric.__name__
    assert recall_at_k(perfect, [np.array([2, 1])], 3) == 1.0
    assert r_precision(perfect, [np.array([2, 1])]) == 1.0


def test_every_metric_agrees_with_trec_eval_on_random_rankings():
    """trec_eval (through pytrec_eval) is the reference implementation of IR metrics; our MAP divides by
    min(k, |relevant|) and trec's map_cut by |relevant|, equal here because no user holds more than k items."""
    pytrec_eval = pytest.importorskip("pytrec_eval")
    rng = np.random.default_rng(0)
    n_users, n_items, k = 200, 60, 10
    recommended = np.array([rng.permutation(n_items)[:k] for _ in range(n_users)])
    relevant = [rng.choice(n_items, size=rng.integers(1, k + 1), replace=False) for _ in range(n_users)]

    qrels = {f"u{u}": {f"i{i}": 1 for i in rel} for u, rel in enumerate(relevant)}
    run = {f"u{u}": {f"i{i}": float(k - rank) for rank, i in enumerate(row)} for u, row in enumerate(recommended)}
    measures = {"recall.10", "P.10", "ndcg_cut.10", "map_cut.10", "recip_rank", "Rprec", "success.10"}
    per_user = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)

    def trec(measure: str) -> float:
        return float(np.mean([scores[measure] for scores in per_user.values()]))

    assert recall_at_k(recommended, relevant, k) == pytest.approx(trec("recall_10"))
    assert precision_at_k(recommended, relevant, k) == pytest.approx(trec("P_10"))
    assert ndcg_at_k(recommended, relevant, k) == pytest.approx(trec("ndcg_cut_10"))
    assert map_at_k(recommended, relevant, k) == pytest.approx(trec("map_cut_10"))
    assert mrr_at_k(recommended, relevant, k) == pytest.approx(trec("recip_rank"))
    assert r_precision(recommended, relevant) == pytest.approx(trec("Rprec"))
    assert hit_rate_at_k(recommended, relevant, k) == pytest.approx(trec("success_10"))
