"""item2vec's training schedule: the tuned epochs and learning rate within the token budget, fewer passes at a
larger rate above it."""

import pytest

from recsys.models.item2vec import training_schedule
from recsys.settings import Item2VecSettings

DEFAULTS = Item2VecSettings()


@pytest.mark.parametrize("tokens", [48_580, 175_911, 190_649])  # movielens, yes_small, yes_big: as tuned
def test_the_shared_datasets_train_as_tuned(tokens):
    assert training_schedule(DEFAULTS, tokens) == (100, 0.025)


def test_a_larger_corpus_gets_the_passes_that_fit_the_budget_at_a_larger_rate():
    epochs, alpha = training_schedule(DEFAULTS, 645_992)  # 1% of the MPD
    assert epochs == 20_000_000 // 645_992 == 30
    assert alpha == pytest.approx(0.025 * (100 / 30) ** 0.5)


def test_the_rate_is_capped_and_the_passes_never_fall_under_the_floor():
    epochs, alpha = training_schedule(DEFAULTS, 64_751_122)  # the MPD
    assert (epochs, alpha) == (3, pytest.approx(0.025 * (100 / 3) ** 0.5))
    assert training_schedule(Item2VecSettings(min_epochs=1, token_budget=1), 1_000) == (1, 0.15)  # 0.25 capped
    assert training_schedule(Item2VecSettings(epochs=10, min_epochs=4, token_budget=1), 1_000) == (4, 0.025 * 2.5**0.5)


def test_a_budget_above_the_corpus_never_adds_epochs():
    assert training_schedule(Item2VecSettings(epochs=5), 10) == (5, 0.025)
