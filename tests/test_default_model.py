"""serving.default_model=auto: each bundle answers a request naming no model with the model its own evaluation
measured best among those it serves, and says why; without an evaluation, a documented order."""

from recsys.bundle.default import UNMEASURED, DefaultModel, measured_best, recorded

SERVED = ["popularity", "cooccurrence", "item2vec", "als", "blend", "ranker"]
EVALUATION = {
    "popularity": {"recall@10": 0.040},
    "als": {"recall@10": 0.186},
    "blend": {"recall@10": 0.214},
    "ranker": {"recall@10": 0.218},
    "implicit": {"recall@10": 0.300},  # the evaluation's reference: measured, never served
}


def test_the_best_served_model_by_the_evaluations_metric_is_chosen_saying_why():
    chosen = measured_best(SERVED, EVALUATION, "recall@10", "last")
    assert chosen.name == "ranker"
    assert chosen.why == "the best recall@10 of the models this bundle serves on its held-out split (last): 0.2180"
    assert measured_best(["als", "blend"], EVALUATION, "recall@10", "last").name == "blend"  # the ranker not served


def test_a_tie_goes_to_the_first_served_and_unmeasured_models_are_passed_over():
    tied = {"als": {"recall@10": 0.2}, "blend": {"recall@10": 0.2}, "ranker": {"ndcg@10": 0.9}}
    assert measured_best(SERVED, tied, "recall@10", "users").name == "als"  # registry order: als before blend


def test_without_an_evaluation_the_first_served_of_the_documented_order_is_chosen():
    assert UNMEASURED == ("ranker", "blend", "als")
    assert measured_best(SERVED, None, "recall@10", "last") == DefaultModel(
        "ranker", "no evaluation to choose by: the first this bundle serves of ranker, blend, als"
    )
    assert measured_best(["popularity", "als", "blend"], {}, "recall@10", "last").name == "blend"
    assert measured_best(["popularity", "cooccurrence"], None, "recall@10", "last").name == "popularity"


def test_the_builds_record_is_read_back_and_an_older_bundle_chooses_alike():
    written = {"default_model": {"name": "blend", "why": "recorded"}, "evaluation": EVALUATION}
    assert recorded(written, SERVED, "recall@10", "last") == DefaultModel("blend", "recorded")
    older = {"evaluation": EVALUATION}  # built before the record: chosen now, from its evaluation
    assert recorded(older, SERVED, "recall@10", "last") == measured_best(SERVED, EVALUATION, "recall@10", "last")
