"""The head's retrieval metric on hand-made vectors: kNN precision by class, whole or compared in blocks."""

import numpy as np

from recsys.images.head import knn_precision
from recsys.vectors import l2_normalize


def at(*degrees: float) -> np.ndarray:
    radians = np.radians(degrees)
    return np.stack([np.cos(radians), np.sin(radians)], axis=1)


def test_knn_precision_counts_each_images_nearest_others_by_class():
    # class 0 near 0 degrees, class 1 at 80, 92 and 105, and one class-0 image at 85, among class 1
    vectors = at(0, 5, -7, 80, 92, 105, 85)
    labels = np.array([0, 0, 0, 1, 1, 1, 0])
    mean, per_class = knn_precision(vectors, labels, k=2)
    # 0, 5, -7: each other; 80: 85 and 92; 92: 85 and 80; 105: 92 and 85; 85: 80 and 92 (both class 1)
    expected = np.array([1, 1, 1, 0.5, 0.5, 0.5, 0])
    assert mean == expected.mean()
    np.testing.assert_allclose(per_class, [0.75, 0.5])


def test_blocks_give_the_same_precision_as_one_comparison():
    rng = np.random.default_rng(0)
    vectors = l2_normalize(rng.normal(size=(50, 8)))
    labels = rng.integers(0, 3, size=50)
    whole = knn_precision(vectors, labels, k=5, block=50)
    blocked = knn_precision(vectors, labels, k=5, block=7)
    assert whole[0] == blocked[0]
    np.testing.assert_array_equal(whole[1], blocked[1])
