"""The shipped model file and the budget -> threshold mapping."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from cacheback import ConfigurationError
from cacheback.match import DEFAULT_MODEL_PATH, MatchModel, load_default_model
from cacheback.match._features import FEATURE_NAMES, pair_features
from cacheback.match._model import logit, sigmoid
from cacheback.match._text import profile


def test_shipped_model_loads_and_gives_probabilities() -> None:
    model = load_default_model()
    assert model.feature_names == FEATURE_NAMES
    for similarity in (0.0, 0.5, 0.9, 1.0):
        p = model.probability(
            pair_features(
                profile("How do I add a user?"), profile("How do I remove a user?"), similarity, similarity
            )
        )
        assert 0.0 <= p <= 1.0


def test_probability_rises_with_similarity() -> None:
    model = load_default_model()
    query, stored = profile("How do I reset my password?"), profile("How can I reset my password?")
    scores = [model.probability(pair_features(query, stored, s / 100, s / 100)) for s in range(0, 101, 5)]
    assert scores == sorted(scores) and scores[-1] > scores[0]


def test_trap_signals_lower_the_probability() -> None:
    model = load_default_model()
    paraphrase = pair_features(
        profile("Can I open a Lifetime ISA at 39?"), profile("Could I open a Lifetime ISA at 39?"), 0.97, 0.97
    )
    trap = pair_features(
        profile("Can I open a Lifetime ISA at 39?"), profile("Can I open a Lifetime ISA at 41?"), 0.97, 0.97
    )
    assert model.probability(trap) < model.probability(paraphrase)


def test_smaller_budget_means_stricter_threshold() -> None:
    model = load_default_model()
    budgets = [0.001, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5]
    thresholds = [model.threshold_for(b) for b in budgets]
    assert thresholds == sorted(thresholds, reverse=True)
    assert thresholds[0] == model.budgets[0][1] and thresholds[-1] == model.budgets[-1][1]
    table = MatchModel(weights=model.weights, bias=model.bias, budgets=((0.01, 0.9), (0.05, 0.8)))
    assert table.threshold_for(0.005) == 0.9 > table.threshold_for(0.02) > table.threshold_for(0.5) == 0.8


@pytest.mark.parametrize("budget", [0, 1, -0.1, 1.5, True, "0.01", float("nan")])
def test_budget_outside_zero_one_is_refused(budget: object) -> None:
    with pytest.raises(ConfigurationError):
        load_default_model().threshold_for(budget)  # type: ignore[arg-type]


def test_budget_between_rows_is_interpolated() -> None:
    model = MatchModel(weights=(0.0,) * len(FEATURE_NAMES), bias=0.0, budgets=((0.01, 0.9), (0.1, 0.5)))
    assert model.threshold_for(0.01) == 0.9 and model.threshold_for(0.1) == 0.5
    assert model.threshold_for(0.001) == 0.9 and model.threshold_for(0.4) == 0.5
    assert 0.5 < model.threshold_for(0.0316) < 0.9
    assert abs(model.threshold_for(0.0316) - 0.7) < 0.01


def test_round_trip_and_refusal_of_other_features(tmp_path: Path) -> None:
    model = load_default_model()
    path = tmp_path / "m.json"
    model.save(path)
    again = MatchModel.load(path)
    assert again.weights == pytest.approx(model.weights) and again.budgets == model.budgets
    data = json.loads(DEFAULT_MODEL_PATH.read_text())
    data["features"] = data["features"][:-1] + ["something_else"]
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigurationError, match="refit"):
        MatchModel.load(path)
    path.write_text("{not json")
    with pytest.raises(ConfigurationError):
        MatchModel.load(path)


def _pairs() -> list[tuple[str, str]]:
    return [
        ("How do I add a user?", "How do I remove a user?"),
        ("How do I cancel an order?", "How do I cancle an order?"),
        ("Can I open a Lifetime ISA at 39?", "Can I open a Lifetime ISA at 41?"),
        ("How do I reset my password?", "How can I reset my password?"),
        ("What does my home insurance cover?", "What does my car insurance cover?"),
        ("Track order 48213", "What's the status of order number 48213?"),
    ]


def test_max_logit_bounds_every_pair_from_its_similarity() -> None:
    model = load_default_model()
    for a, b in _pairs():
        for best in (0.6, 0.9, 1.0):
            for similarity in (0.3, 0.49, 0.5, 0.6, 0.8, best):
                z = logit(model.probability(pair_features(profile(a), profile(b), similarity, best)))
                assert z <= model.max_logit(similarity, best) + 1e-9


def test_min_similarity_is_where_the_bound_crosses_the_threshold() -> None:
    model = load_default_model()
    threshold = model.threshold_for(0.05)
    lowest = model.min_similarity(threshold)
    assert -1.0 < lowest < 1.0
    assert model.max_logit(lowest, lowest) < logit(threshold)
    assert model.max_logit(lowest + 1e-6, lowest + 1e-6) >= logit(threshold)
    assert model.min_similarity(model.threshold_for(0.005)) >= lowest


def test_min_similarity_edges() -> None:
    weights = [0.0] * len(FEATURE_NAMES)
    weights[0] = 4.0
    model = MatchModel(weights=tuple(weights), bias=-2.0, budgets=((0.05, 0.5),))
    assert model.min_similarity(0.5) == pytest.approx(0.5, abs=1e-9)
    assert model.min_similarity(0.999) == math.inf
    assert model.min_similarity(0.001) == -1.0
    weights[0] = -1.0
    assert MatchModel(weights=tuple(weights), bias=0.0, budgets=((0.05, 0.5),)).min_similarity(0.5) == -1.0


def test_sigmoid_and_logit_are_inverse_and_do_not_overflow() -> None:
    for z in (-40.0, -3.0, 0.0, 2.5, 20.0):
        assert logit(sigmoid(z)) == pytest.approx(z, rel=1e-6)
    assert sigmoid(-1e4) == 0.0 and sigmoid(1e4) == 1.0
    assert logit(0.0) == -math.inf and logit(1.0) == math.inf
