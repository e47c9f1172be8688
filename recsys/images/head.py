"""Transfer learning's top: a linear classifier on the frozen embeddings, and how well it and plain retrieval do.

The head is multinomial logistic regression (softmax, L2-penalised), fitted full-batch with L-BFGS on torch and
saved as plain arrays (weights, bias, class names), so the service predicts with numpy and never unpickles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Head:
    weights: np.ndarray  # (dim, classes)
    bias: np.ndarray  # (classes,)
    classes: list[str]

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        logits = vectors @ self.weights + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def save(self, path) -> None:
        np.savez(path, weights=self.weights, bias=self.bias, classes=np.array(self.classes, dtype=str))

    @classmethod
    def load(cls, path) -> Head:
        with np.load(path, allow_pickle=False) as data:  # a bundle never unpickles
            return cls(data["weights"], data["bias"], data["classes"].tolist())


def fit_head(vectors: np.ndarray, labels: np.ndarray, classes: list[str], l2: float, seed: int) -> Head:
    """Softmax regression on (vectors, label indexes), L2 penalty ``l2`` on the weights."""
    import torch

    torch.manual_seed(seed)
    x = torch.as_tensor(vectors, dtype=torch.float32)
    y = torch.as_tensor(labels, dtype=torch.int64)
    linear = torch.nn.Linear(x.shape[1], len(classes))
    optimizer = torch.optim.LBFGS(linear.parameters(), max_iter=500, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        optimizer.zero_grad()
        value = torch.nn.functional.cross_entropy(linear(x), y) + l2 * linear.weight.square().sum()
        value.backward()
        return value

    optimizer.step(loss)
    with torch.no_grad():
        return Head(linear.weight.T.numpy().copy(), linear.bias.numpy().copy(), list(classes))


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indexes with ``test_fraction`` of every class (at least one) in test, seeded."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        cut = max(1, round(len(members) * test_fraction)) if len(members) > 1 else 0
        test.extend(members[:cut])
        train.extend(members[cut:])
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(test, dtype=np.int64))


def accuracy_and_macro_f1(truth: np.ndarray, predicted: np.ndarray, n_classes: int) -> tuple[float, float]:
    f1 = []
    for c in range(n_classes):
        tp = np.sum((predicted == c) & (truth == c))
        fp, fn = np.sum((predicted == c) & (truth != c)), np.sum((predicted != c) & (truth == c))
        f1.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return float(np.mean(truth == predicted)), float(np.mean(f1))


def knn_precision(vectors: np.ndarray, labels: np.ndarray, k: int, block: int = 1024) -> tuple[float, np.ndarray]:
    """Retrieval by class: for every image, the share of its k nearest others (cosine) with its label; the mean
    over images, and the mean per class. ``vectors`` are L2-normalised; ``block`` images are compared with all
    at a time, so memory grows with the image count, not its square."""
    per_image = np.empty(len(vectors))
    for start in range(0, len(vectors), block):
        rows = np.arange(start, min(start + block, len(vectors)))
        similarity = vectors[rows] @ vectors.T
        similarity[np.arange(len(rows)), rows] = -np.inf  # leave the image itself out
        nearest = np.argpartition(-similarity, k, axis=1)[:, :k]
        per_image[rows] = (labels[nearest] == labels[rows, None]).mean(axis=1)
    per_class = np.array([per_image[labels == c].mean() for c in range(labels.max() + 1)])
    return float(per_image.mean()), per_class


def learning_curve(
    vectors: np.ndarray,
    labels: np.ndarray,
    classes: list[str],
    train: np.ndarray,
    test: np.ndarray,
    l2: float,
    seed: int,
    shares: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0),
) -> list[tuple[int, float]]:
    """(training images, test accuracy) for heads fitted on growing stratified shares of the training part."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(train)
    points = []
    for share in shares:
        n = max(len(classes), round(len(train) * share))
        subset = order[:n]
        head = fit_head(vectors[subset], labels[subset], classes, l2, seed)
        predicted = head.probabilities(vectors[test]).argmax(axis=1)
        points.append((int(n), float(np.mean(predicted == labels[test]))))
    return points
