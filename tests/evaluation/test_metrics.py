"""Metrics against scikit-learn on random inputs, and the edge cases the report must survive."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn import metrics as sk

from runyard.errors import BadRequest
from runyard.evaluation.metrics import classification, roc_curve, segmentation

SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def binary_case(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(2, 60))
    y = draw(arrays(np.int64, n, elements=st.integers(0, 1)))
    # Few distinct values so that ties (the hard part of a ROC curve) are common.
    s = draw(arrays(np.float64, n, elements=st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.7, 1.0])))
    return y, s


@SETTINGS
@given(binary_case())
def test_binary_matches_scikit_learn(case: tuple[np.ndarray, np.ndarray]) -> None:
    y, s = case
    r = classification(y, s)
    pred = (s >= 0.5).astype(int)
    m = r["metrics"]
    assert m["accuracy"] == pytest.approx(sk.accuracy_score(y, pred))
    assert r["confusion_matrix"] == sk.confusion_matrix(y, pred, labels=[0, 1]).tolist()
    if len(set(y.tolist())) == 2:
        assert m["auc"] == pytest.approx(sk.roc_auc_score(y, s))
        assert m["sensitivity"] == pytest.approx(sk.recall_score(y, pred))
        assert m["specificity"] == pytest.approx(sk.recall_score(y, pred, pos_label=0))
        fpr, tpr, _ = sk.roc_curve(y, s, drop_intermediate=False)
        ours = roc_curve(y, s)
        np.testing.assert_allclose(ours[0], fpr)
        np.testing.assert_allclose(ours[1], tpr)
        if pred.sum():
            assert m["precision"] == pytest.approx(sk.precision_score(y, pred))
            assert m["f1"] == pytest.approx(sk.f1_score(y, pred))
        else:
            assert m["precision"] is None
    else:
        assert m["auc"] is None
        assert r["notes"] and "never occurs" in r["notes"][0]


@SETTINGS
@given(st.integers(3, 5), st.integers(0, 2**32 - 1))
def test_multiclass_matches_scikit_learn(k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(k * 3, 80))
    y = np.r_[np.arange(k), rng.integers(0, k, n - k)]
    s = rng.dirichlet(np.ones(k), size=n)
    r = classification(y, s)
    pred = s.argmax(1)
    assert r["metrics"]["auc"] == pytest.approx(sk.roc_auc_score(y, s, multi_class="ovr"))
    assert r["confusion_matrix"] == sk.confusion_matrix(y, pred, labels=range(k)).tolist()
    recall = sk.recall_score(y, pred, average=None, labels=range(k), zero_division=np.nan)
    ours = [row["recall"] for row in r["per_class"]]
    np.testing.assert_allclose(ours, recall)
    f1 = sk.f1_score(y, pred, average=None, labels=range(k), zero_division=0)
    np.testing.assert_allclose([row["f1"] or 0.0 for row in r["per_class"]], f1, atol=1e-9)


def test_youden_threshold_is_the_best_roc_point() -> None:
    y = np.array([0, 0, 0, 1, 1, 1, 0, 1])
    s = np.array([0.05, 0.1, 0.2, 0.3, 0.35, 0.4, 0.32, 0.9])
    r = classification(y, s, threshold="youden")
    fpr, tpr, th = sk.roc_curve(y, s)
    assert r["threshold"] == pytest.approx(th[np.argmax(tpr - fpr)])
    assert r["threshold_rule"] == "youden"
    assert r["metrics"]["accuracy"] > classification(y, s)["metrics"]["accuracy"]


@pytest.mark.parametrize(
    ("y", "s", "message"),
    [
        ([0, 1, 1], [0.2, float("nan"), 0.3], "NaN"),
        ([0, 1, 1], [0.2, 0.3], "3 items but y_score has 2"),
        ([0, 1, 2], [0.2, 0.3, 0.4], "outside the classes"),
        ([0, 1, 0.5], [0.2, 0.3, 0.4], "fractions"),
        ([], [], "empty"),
        ([0, 1], [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]], None),
    ],
)
def test_bad_classification_input_is_a_clear_error(y: list, s: list, message: str | None) -> None:
    if message is None:  # two rows of three classes is valid: a check that errors are not eager
        assert classification(y, s)["kind"] == "multiclass"
        return
    with pytest.raises(BadRequest, match=message):
        classification(y, s)


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    if not a.any() and not b.any():
        return 1.0
    return 2 * float((a & b).sum()) / float(a.sum() + b.sum())


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(2, 3))
def test_segmentation_matches_scikit_learn(seed: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, (4, 6, 6))
    p = np.where(rng.random(y.shape) < 0.3, rng.integers(0, k, y.shape), y)
    y[0] = 0  # one image with an empty truth
    r = segmentation(y, p, num_classes=k)
    for c in range(1, k):
        dice = [_dice(y[i] == c, p[i] == c) for i in range(4)]
        jac = [
            sk.jaccard_score((y[i] == c).ravel(), (p[i] == c).ravel(), zero_division=1.0)
            for i in range(4)
        ]
        row = r["per_class"][c - 1]
        assert row["dice"] == pytest.approx(np.mean(dice))
        assert row["iou"] == pytest.approx(np.mean(jac))
        assert row["empty_truth"] == sum(not (y[i] == c).any() for i in range(4))


def test_empty_masks_rule() -> None:
    empty = np.zeros((2, 5, 5), int)
    assert segmentation(empty, empty)["metrics"] == {"dice": 1.0, "iou": 1.0}
    spurious = empty.copy()
    spurious[1, 0, 0] = 1
    r = segmentation(empty, spurious)
    assert r["per_image"]["dice"] == [1.0, 0.0]
    assert r["per_class"][0]["empty_truth"] == 2


@pytest.mark.parametrize(
    ("masks", "preds", "message"),
    [
        (np.zeros((2, 4, 4)), np.zeros((2, 4, 5)), "shape"),
        (np.zeros((4, 4)), np.zeros((4, 4)), "stack of masks"),
        (np.full((1, 2, 2), 0.5), np.zeros((1, 2, 2)), "fractions"),
    ],
)
def test_bad_masks_are_a_clear_error(masks: np.ndarray, preds: np.ndarray, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        segmentation(masks, preds)
