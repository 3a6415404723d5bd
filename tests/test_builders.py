"""Games from models: tabular, image and text builders; torch, scikit-learn and plain callables; outputs."""

import re
import warnings

import numpy as np
import pytest

from harsanyi import Game, HarsanyiValueError, ModelOutputError

torch = pytest.importorskip("torch")


def mlp(d, k, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(d, 16), torch.nn.Tanh(), torch.nn.Linear(16, k)).to(dtype)


def numpy_twin(model):
    """The same MLP as a NumPy function: an independent path through the library (no torch masking)."""
    w1, b1, w2, b2 = (p.detach().double().numpy() for p in model.parameters())
    return lambda X: np.tanh(np.asarray(X) @ w1.T + b1) @ w2.T + b2


def brute_values(f, x, base, owner, n):
    """v(S) for every mask by building each masked input in a Python loop (reference only)."""
    out = []
    for mask in range(1 << n):
        present = np.array([o < 0 or (mask >> o & 1) for o in owner])
        out.append(f(np.where(present, x, base)[None])[0])
    return np.array(out)


def test_tabular_torch_matches_brute_force_and_numpy_twin():
    model = mlp(5, 1)
    rng = np.random.default_rng(0)
    x, base = rng.normal(size=(2, 5))
    table = Game.tabular(model, x, baseline=base).evaluate()
    expected = brute_values(lambda X: numpy_twin(model)(X)[:, 0], x, base, range(5), 5)
    np.testing.assert_allclose(table.values, expected, atol=1e-12)
    twin = Game.tabular(numpy_twin(model), x, baseline=base).evaluate()
    np.testing.assert_allclose(twin.values, table.values, atol=1e-12)
    # the row as a torch tensor or a pandas Series gives the same game (tensors have .index and .values methods
    # too: only a Series names the features)
    as_tensor = Game.tabular(model, torch.as_tensor(x), baseline=torch.as_tensor(base))
    np.testing.assert_array_equal(as_tensor.evaluate().values, table.values)
    assert as_tensor.player_names == ("x0", "x1", "x2", "x3", "x4")
    pd = pytest.importorskip("pandas")
    series = Game.tabular(model, pd.Series(x, index=list("abcde")), baseline=base)
    assert series.player_names == tuple("abcde")
    np.testing.assert_array_equal(series.evaluate().values, table.values)


def test_groups_background_and_mean_baseline():
    model = mlp(6, 3)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 6))
    names = list("abcdef")
    game = Game.tabular(model, X[0], players={"ab": ["a", "b"], "d": [3], "ef": [4, 5]}, feature_names=names,
                        baseline="mean", background=X, output="logit", target=2)
    assert game.n_players == 3 and game.player_names == ("ab", "d", "ef")
    owner = [0, 0, -1, 1, 2, 2]  # feature c is in no player: it keeps its value
    expected = brute_values(lambda Z: numpy_twin(model)(Z)[:, 2], X[0], X.mean(0), owner, 3)
    np.testing.assert_allclose(game.evaluate().values, expected, atol=1e-12)


def test_a_baseline_number_or_one_value_per_player():
    model = mlp(6, 1)
    x = np.arange(6.0)
    f = lambda Z: numpy_twin(model)(Z)[:, 0]  # noqa: E731
    # a number: every feature's baseline
    number = Game.tabular(model, x, baseline=0.5).evaluate().values
    np.testing.assert_allclose(number, brute_values(f, x, np.full(6, 0.5), range(6), 6), atol=1e-12)
    # with groups, one value per player: each of its features takes it (the ungrouped feature keeps its value)
    groups = {"a": [0, 1], "b": [2, 3], "c": [5]}
    per_player = Game.tabular(model, x, players=groups, baseline=[10.0, 20.0, 30.0]).evaluate().values
    base = np.array([10.0, 10.0, 20.0, 20.0, 4.0, 30.0])
    np.testing.assert_allclose(per_player, brute_values(f, x, base, [0, 0, 1, 1, -1, 2], 3), atol=1e-12)
    with pytest.raises(HarsanyiValueError, match=r"one value per feature \(6,\) or per player \(3,\); received \(4,\)"):
        Game.tabular(model, x, players=groups, baseline=np.zeros(4))


def test_a_model_that_gives_nan_on_some_masked_inputs_names_them():
    class NanWithoutFirst(torch.nn.Module):  # NaN wherever feature 0 is masked (to 0)
        def forward(self, z):
            return torch.where(z[:, :1] == 0, torch.nan, z.sum(1, keepdim=True))

    with pytest.raises(ModelOutputError, match=r"NaN or inf for 8 of 16 coalitions, e.g. coalitions \[\(\), \(1,\), "
                                               r"\(2,\), \(1, 2\), \(3,\)\]"):
        Game.tabular(NanWithoutFirst(), np.ones(4), baseline="zero", output="raw").evaluate()


def test_outputs_from_logits():
    model = mlp(4, 3, seed=2)
    x = np.ones(4)
    z = numpy_twin(model)(x[None])[0]
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    c = int(np.argmax(z))
    game = Game.tabular(model, x)  # auto: log-odds of the predicted class
    assert game.info["output"] == "log-odds" and game.info["target"] == c
    full = game(np.ones((1, 4), bool))[0]
    assert full == pytest.approx(np.log(p[c] / (1 - p[c])), rel=1e-10)
    assert Game.tabular(model, x, output="prob", target=0)(np.ones(4, bool))[0] == pytest.approx(p[0])
    assert Game.tabular(model, x, output="logit", target=1)(np.ones(4, bool))[0] == pytest.approx(z[1])
    custom = Game.tabular(model, x, output=lambda s: s.sum(1))(np.ones(4, bool))[0]
    assert custom == pytest.approx(z.sum())


def test_a_softmax_read_as_logits_is_warned_about():
    """A torch model that ends in a softmax, explained with its outputs read as logits (the default): a warning
    names model_output='probabilities', which makes it right (and silent)."""
    model = torch.nn.Sequential(mlp(4, 3, seed=2), torch.nn.Softmax(dim=-1))
    x = np.ones(4)
    with pytest.warns(UserWarning, match="look like probabilities.*model_output='probabilities'"):
        Game.tabular(model, x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        game = Game.tabular(model, x, model_output="probabilities")
        Game.tabular(mlp(4, 3, seed=2), x)  # logits: no warning
    p = model(torch.tensor(x[None]))[0].detach().numpy()
    c = game.info["target"]
    assert game(np.ones(4, bool))[0] == pytest.approx(np.log(p[c] / (1 - p[c])))


def test_single_logit_binary_model_signs():
    model = mlp(3, 1, seed=3)
    x = np.array([0.5, -1.0, 2.0])
    z = numpy_twin(model)(x[None])[0, 0]
    one = Game.tabular(model, x, output="log-odds", target=1)(np.ones(3, bool))[0]
    zero = Game.tabular(model, x, output="log-odds", target=0)(np.ones(3, bool))[0]
    assert one == pytest.approx(z) and zero == pytest.approx(-z)
    assert Game.tabular(model, x)(np.ones(3, bool))[0] == pytest.approx(z)  # auto, one output: raw
    # probabilities: σ(z) for class 1 and 1 − σ(z) = σ(−z) for class 0, from a logit or from a probability output
    for target, expected in ((1, 1 / (1 + np.exp(-z))), (0, 1 / (1 + np.exp(z)))):
        assert Game.tabular(model, x, output="prob", target=target)(np.ones(3, bool))[0] == pytest.approx(expected)
        sigmoid = torch.nn.Sequential(model, torch.nn.Sigmoid())
        assert Game.tabular(sigmoid, x, output="prob", target=target, model_output="probabilities")(
            np.ones(3, bool))[0] == pytest.approx(expected)
    with pytest.raises(HarsanyiValueError, match="A single-score binary model has classes 0 and 1; received target=2"):
        Game.tabular(model, x, output="log-odds", target=2)


def test_sklearn_classifier_and_regressor():
    from sklearn.datasets import load_breast_cancer, load_diabetes
    from sklearn.linear_model import LinearRegression, LogisticRegression

    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    clf = LogisticRegression(max_iter=500).fit(X, y)
    game = Game.tabular(clf, X[0], players=[list(range(i, 30, 6)) for i in range(6)], baseline="zero")
    assert game.info["output"] == "log-odds" and game.info["target"] == clf.predict(X[:1])[0]
    table = game.evaluate()
    p = clf.predict_proba(X[:1])[0, game.info["target"]]
    assert table.v_full == pytest.approx(np.log(p / (1 - p)))
    assert table.shapley().sum() == pytest.approx(table.v_full - table.v_empty)
    logit = Game.tabular(clf, X[0], output="logit", target=1)  # a classifier's logit is its decision_function
    assert logit(np.ones(30, bool))[0] == pytest.approx(clf.decision_function(X[:1])[0])
    with pytest.raises(HarsanyiValueError, match="output='logit' needs logits"):
        Game.tabular(lambda Z: clf.predict_proba(Z), X[0], output="logit", model_output="probabilities")
    Xd, yd = load_diabetes(return_X_y=True)
    reg = LinearRegression().fit(Xd, yd)
    table = Game.tabular(reg, Xd[3], baseline="mean", background=Xd).evaluate()
    # a linear model has no interactions: every dividend of order ≥ 2 vanishes, SV = w·(x − mean)
    np.testing.assert_allclose(table.shapley(), reg.coef_ * (Xd[3] - Xd.mean(0)), atol=1e-9)
    assert max(abs(v) for c, v in table.harsanyi().items() if len(c) >= 2) < 1e-9


def test_a_classifier_whose_probabilities_are_the_softmax_of_its_scores_gives_exact_log_odds():
    """Logistic regression's log-odds are linear in its inputs. Read through predict_proba and clamped to [1e-7,
    1 − 1e-7], 10 of these 64 coalitions would sit at ±16.1 and show interactions of the clamp; read through its
    decision_function (its probabilities are the sigmoid, or softmax, of it: checked), the log-odds are exact: no
    dividend of order ≥ 2 (to 1e-9: float64 rounding of sums of values up to ~80), SV of a group = the sum of w·x over
    its features, no warning. Multi-class: z_c − logsumexp of the others. Where the probabilities are something else
    (modified Huber's clipped margins) or there is no decision_function (a forest), predict_proba stays."""
    import warnings

    from sklearn.datasets import load_breast_cancer, load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    clf = LogisticRegression(max_iter=500).fit(X, y)
    groups = [list(range(i, 30, 6)) for i in range(6)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        game = Game.tabular(clf, X[0], players=groups, baseline="zero")
        table = game.evaluate()
    assert game.info["model_output"] == "logits" and game.info["output"] == "log-odds"
    sign = 1.0 if game.info["target"] == 1 else -1.0
    assert np.abs(table.values).max() > 16.2  # beyond the clamp
    np.testing.assert_allclose(table.shapley(), [sign * (clf.coef_[0, g] * X[0, g]).sum() for g in groups], atol=1e-9)
    assert max(abs(v) for c, v in table.harsanyi().items() if len(c) >= 2) < 1e-9

    Xi, yi = load_iris(return_X_y=True)
    multi = LogisticRegression(max_iter=2000).fit(Xi, yi)
    game = Game.tabular(multi, Xi[60], baseline="mean", background=Xi)
    z = multi.decision_function(Xi[60:61])[0]
    c = game.info["target"]
    assert game.info["model_output"] == "logits"
    assert game(np.ones(4, bool))[0] == pytest.approx(z[c] - np.log(np.exp(np.delete(z, c)).sum()), rel=1e-12)

    for other in (SGDClassifier(loss="modified_huber", random_state=0), RandomForestClassifier(5, random_state=0)):
        assert Game.tabular(other.fit(X, y), X[0], baseline="zero").info["model_output"] == "probabilities"


def test_sklearn_fitted_on_a_dataframe():
    """An estimator fitted on a DataFrame is called with one (its columns): no feature-name warning, and a pipeline
    that selects its columns by name (which refuses a plain array) works; the features take the columns' names."""
    pd = pytest.importorskip("pandas")
    from sklearn.compose import ColumnTransformer
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_wine(return_X_y=True, as_frame=True)
    X = X.iloc[:, :6]
    by_name = ColumnTransformer([("scaled", StandardScaler(), list(X.columns))])
    model = make_pipeline(by_name, LogisticRegression(max_iter=1000)).fit(X, y)
    with pytest.raises(ValueError, match="only supported for dataframes"):
        model.predict_proba(X.values[:1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        game = Game.tabular(model, X.values[5], baseline="mean", background=X.values)
        values = game.evaluate().values
    assert game.player_names == tuple(X.columns)
    c = game.info["target"]

    def log_odds(Z):
        p = np.clip(model.predict_proba(pd.DataFrame(Z, columns=X.columns))[:, c], 1e-7, 1 - 1e-7)
        return np.log(p / (1 - p))

    expected = brute_values(log_odds, X.values[5], X.values.mean(0), range(6), 6)
    np.testing.assert_allclose(values, expected, rtol=0, atol=1e-12)
    row = Game.tabular(model, X.iloc[[5]], baseline="mean", background=X)  # a one-row DataFrame names them too
    assert row.player_names == tuple(X.columns)
    np.testing.assert_array_equal(row.evaluate().values, values)
    reversed_background = Game.tabular(model, X.values[5], baseline="mean", background=X[X.columns[::-1]])
    np.testing.assert_array_equal(reversed_background.evaluate().values, values)  # its columns read by name
    with pytest.raises(HarsanyiValueError, match="in another order"):  # read by position: refused, not mislabelled
        Game.tabular(model, X.iloc[5][X.columns[::-1]])


def _people(pd, rows=300):
    """A small mixed table (numbers and categories, no ties in the categories' counts) and a pipeline that encodes
    it, fitted on the DataFrame."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.integers(20, 70, rows).astype(float),
                          "sex": rng.choice(["f", "m"], rows, p=[0.4, 0.6]),
                          "job": rng.choice(["clerk", "cook", "nurse"], rows, p=[0.2, 0.5, 0.3]),
                          "hours": rng.normal(40.0, 5.0, rows)})
    y = (frame.age > 45) ^ (frame.sex == "f") ^ (frame.job == "cook")
    encode = ColumnTransformer([("numbers", StandardScaler(), ["age", "hours"]),
                                ("categories", OneHotEncoder(), ["sex", "job"])])
    return frame, make_pipeline(encode, LogisticRegression()).fit(frame, y)


def test_categorical_features_through_a_pipeline():
    """A mixed row (numbers and strings) for a pipeline that encodes it: masked like any row, the baseline "mean"
    takes each category's most frequent value, and the values match a brute-force loop over the coalitions."""
    pd = pytest.importorskip("pandas")
    frame, model = _people(pd)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        game = Game.tabular(model, frame.iloc[3], baseline="mean", background=frame)
        values = game.evaluate().values
    typical = [frame.age.mean(), frame.sex.value_counts().idxmax(), frame.job.value_counts().idxmax(),
               frame.hours.mean()]
    # a background with the columns in another order and a label: read by name, the same game
    shuffled = frame[frame.columns[::-1]].assign(label=0)
    again = Game.tabular(model, frame.iloc[3], baseline="mean", background=shuffled)
    assert again.info["baseline"] == game.info["baseline"]
    assert game.info["baseline"] == pytest.approx(typical) and game.player_names == tuple(frame.columns)
    c = game.info["target"]

    def log_odds(Z):
        p = np.clip(model.predict_proba(pd.DataFrame(Z, columns=frame.columns).infer_objects())[:, c], 1e-7, 1 - 1e-7)
        return np.log(p / (1 - p))

    expected = brute_values(log_odds, frame.iloc[3].to_numpy(object), np.array(typical, dtype=object), range(4), 4)
    np.testing.assert_allclose(values, expected, rtol=0, atol=1e-12)
    # a baseline row of one's own, and a player of two features (one a category)
    own_base = np.array([30.0, "m", "nurse", 38.0], dtype=object)
    own = Game.tabular(model, frame.iloc[3], players={"person": ["age", "sex"], "work": ["job", "hours"]},
                       baseline=own_base).evaluate()
    person_only = frame.iloc[3].to_numpy(object).copy()
    person_only[2:] = own_base[2:]  # "work" absent: job and hours at the baseline row's values
    np.testing.assert_allclose(own.values, log_odds(np.stack([own_base, person_only, np.r_[own_base[:2],
                               frame.iloc[3].to_numpy(object)[2:]], frame.iloc[3].to_numpy(object)])),
                               rtol=0, atol=1e-12)


def test_categorical_features_errors():
    pd = pytest.importorskip("pandas")
    frame, model = _people(pd, rows=50)
    row = frame.iloc[0]
    with pytest.raises(HarsanyiValueError, match=r"baseline='zero' has no value for the categorical features "
                                                 r"\['sex', 'job'\]"):
        Game.tabular(model, row)
    with pytest.raises(HarsanyiValueError, match="A single baseline number has no value"):
        Game.tabular(model, row, baseline=0.0)
    with pytest.raises(HarsanyiValueError, match="is a number in the row but not in the background"):
        Game.tabular(model, row, baseline="mean", background=frame.assign(age="old"))
    with pytest.raises(HarsanyiValueError, match=r"categorical features \['sex', 'job'\], but a torch model"):
        Game.tabular(mlp(4, 2), row, baseline="mean", background=frame)


def _with_missing(seed=0):
    """Breast-cancer features with 10 % of the values missing (NaN), a model that takes them, and a row with two."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = load_breast_cancer(return_X_y=True)
    X = X[:, :6].copy()
    X[np.random.default_rng(seed).random(X.shape) < 0.1] = np.nan
    model = HistGradientBoostingClassifier(max_iter=20, random_state=seed).fit(X, y)
    row = X[np.isnan(X).sum(1) == 2][0]
    return X, model, row


def test_missing_values_for_a_model_that_takes_them():
    """NaN in the row is a missing value, given to a model that takes it (HistGradientBoosting) wherever its player
    is present; the mean baseline is the mean of each feature's observed values; the values match brute force."""
    X, model, row = _with_missing()
    game = Game.tabular(model, row, baseline="mean", background=X)
    np.testing.assert_array_equal(game.info["baseline"], np.nanmean(X, axis=0))
    c = game.info["target"]

    def log_odds(Z):
        p = np.clip(model.predict_proba(Z)[:, c], 1e-7, 1 - 1e-7)
        return np.log(p / (1 - p))

    table = game.evaluate()
    np.testing.assert_allclose(table.values, brute_values(log_odds, row, np.nanmean(X, 0), range(6), 6),
                               rtol=0, atol=1e-12)
    assert table.harsanyi().certificate.passed
    from harsanyi import explain
    from harsanyi.report import render_report

    names = [f"x{j}" for j in range(6)]
    html = render_report(explain(game, table=table, time_limit=5))  # the report names a missing value so
    assert sum(f"{names[j]} = missing" in html for j in range(6)) == 2


def test_a_missing_category_takes_the_most_frequent_one_as_baseline():
    """In a mixed row, a missing value in a column of categories is a missing category (its baseline the most
    frequent observed one), even where every other entry of the row is a number."""
    pd = pytest.importorskip("pandas")
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame, _ = _people(pd, rows=200)
    frame.loc[::7, "job"] = np.nan  # NaN is one more category to the encoder
    encode = ColumnTransformer([("numbers", StandardScaler(), ["age", "hours"]), ("categories", OneHotEncoder(),
                                                                                 ["sex", "job"])])
    model = make_pipeline(encode, LogisticRegression()).fit(frame, np.arange(len(frame)) % 2)
    numbers_only = frame[["age", "job", "hours"]]
    model_3 = make_pipeline(ColumnTransformer([("numbers", StandardScaler(), ["age", "hours"]),
                                               ("categories", OneHotEncoder(), ["job"])]),
                            LogisticRegression()).fit(numbers_only, np.arange(len(frame)) % 2)
    for m, data in ((model, frame), (model_3, numbers_only)):
        row = data.iloc[0]  # job missing
        game = Game.tabular(m, row, baseline="mean", background=data)
        assert game.info["baseline"][list(data.columns).index("job")] == data.job.value_counts().idxmax()
        c = game.info["target"]

        def log_odds(Z, m=m, data=data):
            p = m.predict_proba(pd.DataFrame(Z, columns=data.columns).astype({"age": float, "hours": float}))[:, c]
            return np.log(p / (1 - p))

        expected = brute_values(log_odds, row.to_numpy(object), np.array(game.info["baseline"], dtype=object),
                                range(data.shape[1]), data.shape[1])
        np.testing.assert_allclose(game.evaluate().values, expected, rtol=0, atol=1e-12)


def test_missing_and_infinite_values_errors():
    from sklearn.linear_model import LogisticRegression

    X, model, row = _with_missing()
    observed = np.where(np.isnan(X), np.nanmean(X, 0), X)
    no_nan = LogisticRegression(max_iter=2000).fit(observed, model.predict(observed))
    with pytest.raises(HarsanyiValueError, match=r"The row has missing values \(NaN\) in features \[\d, \d\], and the "
                                                 r"model does not take them \(ValueError: Input X contains NaN\)\. "
                                                 r"Impute them first"):
        Game.tabular(no_nan, row, baseline="mean", background=X)
    with pytest.raises(HarsanyiValueError, match=r"does not take them \(its output on the row is nan\)"):
        Game.tabular(mlp(6, 2), row, baseline="mean", background=X)
    with pytest.raises(HarsanyiValueError, match=r"The input row has infinite values in features \['b'\]"):
        Game.tabular(model, np.array([1.0, np.inf, 0, 0, 0, 0]), feature_names=list("abcdef"))
    with pytest.raises(HarsanyiValueError, match=r"The baseline has missing or infinite values in features \[0, 5\]"):
        Game.tabular(model, row, baseline=np.r_[np.nan, np.ones(4), np.inf])
    gone = X.copy()
    gone[:, 4] = np.nan
    with pytest.raises(HarsanyiValueError, match="Feature 4 is missing \\(NaN\\) in every row of the background"):
        Game.tabular(model, row, baseline="mean", background=gone)


def test_classifiers_are_explained_by_scores_not_labels():
    """A classifier without predict_proba (LinearSVC) is explained by its decision function (its margins as logits),
    not by predict's labels; one with neither is refused; output="logit" on a forest (probabilities only) says so."""
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.datasets import load_breast_cancer, load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    X, y = load_breast_cancer(return_X_y=True)
    svc = make_pipeline(StandardScaler(), LinearSVC()).fit(X[:, :6], y)
    game = Game.tabular(svc, X[0, :6])
    margin = svc.decision_function(X[:1, :6])[0]
    assert game.info["output"] == "log-odds" and game.info["target"] == int(margin > 0)
    assert game.info["prediction"] == pytest.approx(abs(margin))  # the predicted class's margin
    Xi, yi = load_iris(return_X_y=True)
    three = LinearSVC().fit(Xi, yi)
    assert Game.tabular(three, Xi[60], output="logit", target=1)(np.ones(4, bool))[0] == pytest.approx(
        three.decision_function(Xi[60:61])[0, 1])

    class LabelsOnly(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            self.classes_ = np.unique(y)
            return self

        def predict(self, X):
            return np.zeros(len(X), dtype=int)

    with pytest.raises(HarsanyiValueError, match="LabelsOnly has neither predict_proba nor decision_function"):
        Game.tabular(LabelsOnly().fit(Xi, yi), Xi[0])
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(Xi, yi)
    with pytest.raises(HarsanyiValueError, match="output='logit' needs logits"):
        Game.tabular(forest, Xi[0], output="logit")
    # "raw" and a callable output see the classifier's scores too, never its labels
    raw = Game.tabular(forest, Xi[0], output="raw", target=2)
    assert raw(np.ones(4, bool))[0] == pytest.approx(forest.predict_proba(Xi[:1])[0, 2])
    summed = Game.tabular(forest, Xi[0], output=lambda scores: scores.sum(1))
    assert summed(np.ones(4, bool))[0] == pytest.approx(1.0)
    # a clusterer's predict gives labels too: refused, with a score to explain instead
    from sklearn.cluster import KMeans

    kmeans = KMeans(3, n_init=2, random_state=0).fit(Xi)
    with pytest.raises(HarsanyiValueError, match=r"KMeans is a clusterer: its predict gives cluster labels.*"
                                                 r"-model.transform\(X\)\[:, k\]"):
        Game.tabular(kmeans, Xi[0])


def test_a_regressors_outputs_are_not_classes():
    """A scikit-learn regressor with two outputs: "auto" is its raw output (not log-odds between the outputs), so
    it needs target= to say which."""
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4))
    reg = LinearRegression().fit(X, np.c_[X @ [1.0, 2.0, 3.0, 4.0], X @ [4.0, 3.0, 2.0, 1.0]])
    game = Game.tabular(reg, X[0], target=1)
    assert game.info["output"] == "raw" and game.info["prediction"] == pytest.approx(reg.predict(X[:1])[0, 1])
    with pytest.raises(HarsanyiValueError, match=r"model returns 2. Pass target=INDEX \(the output, or class"):
        Game.tabular(reg, X[0])
    assert game.info["predicted_class"] is None  # a regressor predicts values, not a class


@pytest.mark.parametrize("output", ["log-odds", "prob", "logit"])
def test_a_regressor_has_no_class_scores(output):
    """Class outputs of a regressor's predictions (a sigmoid of a predicted price, say) are refused, as is a target
    for a regressor with one output; its raw output (the default) is its prediction."""
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 4))
    reg = LinearRegression().fit(X, X @ [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(HarsanyiValueError, match=rf"output='{output}' reads class scores, but LinearRegression is a "
                                                 rf"regressor: .* Use output='raw'"):
        Game.tabular(reg, X[0], output=output)
    with pytest.raises(HarsanyiValueError, match=r"target=1 picks a class or an output, but LinearRegression is a "
                                                 r"regressor with one output. Drop target"):
        Game.tabular(reg, X[0], target=1)
    game = Game.tabular(reg, X[0])
    assert game.info["output"] == "raw" and game.info["predicted_class"] is None
    assert game.info["prediction"] == pytest.approx(reg.predict(X[:1])[0])


def test_target_by_a_classifiers_label():
    """A scikit-learn classifier's class can be named by its label (its index in classes_); an unknown one is
    refused with the labels listed."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    data = load_iris()
    clf = LogisticRegression(max_iter=1000).fit(data.data, data.target_names[data.target])
    game = Game.tabular(clf, data.data[0], output="prob", target="virginica")
    assert game.info["target"] == 2
    assert game(np.ones(4, bool))[0] == pytest.approx(clf.predict_proba(data.data[:1])[0, 2])
    assert Game.tabular(clf, data.data[0], target=2).info["target"] == 2  # string labels: an int is an index
    with pytest.raises(HarsanyiValueError, match=r"one of the model's classes \['setosa', 'versicolor', "):
        Game.tabular(clf, data.data[0], target="rose")
    with pytest.raises(HarsanyiValueError, match=r"class index \(int\); received 'rose'"):
        Game.tabular(mlp(4, 3), data.data[0], target="rose")
    # numeric labels 1 and 2: a number names a label (an index would be ambiguous); the default is the prediction
    numbered = LogisticRegression(max_iter=1000).fit(data.data[50:], data.target[50:])  # classes_ = [1, 2]
    row = data.data[120]  # predicted 2 (virginica), index 1
    assert Game.tabular(numbered, row, target=1).info["target"] == 0
    assert Game.tabular(numbered, row).info["target"] == 1 == list(numbered.classes_).index(numbered.predict([row])[0])
    with pytest.raises(HarsanyiValueError, match=r"one of the model's classes \[1, 2\]; received 0"):
        Game.tabular(numbered, row, target=0)


def test_tabular_errors():
    model = mlp(3, 2)
    with pytest.raises(HarsanyiValueError, match=r"one input row of shape \(d,\)"):
        Game.tabular(model, np.zeros((2, 3)))
    with pytest.raises(HarsanyiValueError, match="belong to two players"):
        Game.tabular(model, np.zeros(3), players=[[0, 1], [1, 2]])
    with pytest.raises(HarsanyiValueError, match="Player 'a' has no features"):
        Game.tabular(model, np.zeros(3), players={"a": [], "b": [0]})
    with pytest.raises(HarsanyiValueError, match="players= is empty"):
        Game.tabular(model, np.zeros(3), players={})
    with pytest.raises(HarsanyiValueError, match=r"the features have no names, so players= takes their indices "
                                                 r"0 … 2. To use names, pass feature_names="):
        Game.tabular(model, np.zeros(3), players=["a", "b", "c"])
    with pytest.raises(HarsanyiValueError, match=r"Unknown feature 'z'; features are \['a', 'b', 'c'\]"):
        Game.tabular(model, np.zeros(3), players=[["a", "z"]], feature_names=["a", "b", "c"])
    with pytest.raises(HarsanyiValueError, match=r"Unknown feature 9: expected a name or an index in 0 … 2"):
        Game.tabular(model, np.zeros(3), players=[[0, 9]])
    with pytest.raises(HarsanyiValueError, match="baseline='mean' needs background data"):
        Game.tabular(model, np.zeros(3), baseline="mean")
    with pytest.raises(HarsanyiValueError, match=r"one value per feature \(3,\)"):
        Game.tabular(model, np.zeros(3), baseline=np.zeros(5))
    with pytest.raises(HarsanyiValueError, match=r"Expected the baseline as numbers; received <U1 values"):
        Game.tabular(model, np.zeros(3), baseline=np.array(["a", "b", "c"]))
    with pytest.raises(HarsanyiValueError, match="Expected the baseline as an array; received None"):
        Game.tabular(model, np.zeros(3), baseline=None)
    with pytest.raises(HarsanyiValueError, match="Unknown output 'probability'"):
        Game.tabular(model, np.zeros(3), output="probability")
    with pytest.raises(HarsanyiValueError, match="target=5 is out of range"):
        Game.tabular(model, np.zeros(3), output="logit", target=5)
    with pytest.raises(HarsanyiValueError, match=r"target=3 is out of range: the model returns one score per input, "
                                                 r"which output='raw' explains as it is"):
        Game.tabular(lambda X: np.asarray(X).sum(1), np.zeros(3), target=3)
    with pytest.raises(HarsanyiValueError, match="Expected a model"):
        Game.tabular(42, np.zeros(3))
    with pytest.raises(ModelOutputError, match="one score vector per input"):
        Game.tabular(lambda X: np.zeros((len(X), 2, 2)), np.zeros(3))


def test_a_torch_model_returning_a_dict_or_a_tuple():
    """A dict with 'logits' is read as a Hugging Face output is (the same values as the bare tensor); any other
    dict is refused with its keys and the fix; a tuple (logits, hidden states), as Hugging Face models return with
    return_dict=False, is read by its first element."""
    torch = pytest.importorskip("torch")

    class Wrapped(torch.nn.Module):
        def __init__(self, key):
            super().__init__()
            torch.manual_seed(0)
            self.key, self.net = key, torch.nn.Linear(3, 2)

        def forward(self, x):
            return {self.key: self.net(x), "hidden": x}

    x = np.array([0.5, -1.0, 2.0])
    plain = Game.tabular(Wrapped("logits").net, x, output="logit", target=1).evaluate(progress=False)
    wrapped = Game.tabular(Wrapped("logits"), x, output="logit", target=1).evaluate(progress=False)
    np.testing.assert_array_equal(wrapped.values, plain.values)

    class Pair(Wrapped):
        def forward(self, x):
            return self.net(x), x

    as_tuple = Game.tabular(Pair("logits"), x, output="logit", target=1).evaluate(progress=False)
    np.testing.assert_array_equal(as_tuple.values, plain.values)
    with pytest.raises(ModelOutputError, match=r"dict with keys \['hidden', 'scores'\].*model\(x\)\['scores'\]"):
        Game.tabular(Wrapped("scores"), x)


def test_image_grid_cells_and_baselines():
    rng = np.random.default_rng(0)
    img = rng.normal(size=(3, 8, 8))
    weights = rng.normal(size=(3, 8, 8))

    def f(batch):
        return (np.asarray(batch) * weights).sum(axis=(1, 2, 3))[:, None] ** 2

    game = Game.image(f, img, grid=(2, 4), cells=[(0, 0), 5, (1, 3)], baseline="mean", output="raw")
    assert game.player_names == ("r0c0", "r1c1", "r1c3")
    pmap = game.info["player_map"]
    assert (pmap[:4, :2] == 0).all() and (pmap[4:, 2:4] == 1).all() and (pmap[4:, 6:] == 2).all()
    assert (pmap[:4, 2:] == -1).all()
    base = np.broadcast_to(img.mean(axis=(1, 2), keepdims=True), img.shape)
    owner = np.broadcast_to(pmap, img.shape).reshape(-1)
    expected = brute_values(lambda Z: f(Z.reshape(-1, 3, 8, 8))[:, 0], img.reshape(-1), base.reshape(-1), owner, 3)
    np.testing.assert_allclose(game.evaluate().values, expected, atol=1e-9)
    blur = Game.image(f, img, grid=2, baseline="blur", output="raw")
    assert blur.n_players == 4 and np.isfinite(blur.evaluate().values).all()


def test_image_for_a_scikit_learn_estimator_on_flat_rows():
    """An estimator fitted on flattened images (8 × 8 digits) gets the masked images flattened to its rows."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    X, y = load_digits(return_X_y=True)
    model = LogisticRegression(max_iter=2000).fit(X / 16, y)
    image = X[0].reshape(8, 8) / 16
    game = Game.image(model, image, grid=(2, 4), channel_axis=None)
    player_map, c = np.asarray(game.info["player_map"]), game.info["target"]
    masked = np.stack([np.where(np.isin(player_map, [i for i in range(8) if mask >> i & 1]), image, 0.0).ravel()
                       for mask in range(1 << 8)])
    p = np.clip(model.predict_proba(masked)[:, c], 1e-7, 1 - 1e-7)
    np.testing.assert_allclose(game.evaluate().values, np.log(p / (1 - p)), rtol=0, atol=1e-12)


def test_image_cells_by_name_and_a_baseline_per_channel():
    """Cells named as results name them ("r1c0", "segment 7"); a baseline of one value per channel (a dataset's mean
    colour) fills each channel, channels first or last; grids and baselines that do not fit are refused."""
    rng = np.random.default_rng(3)
    weights, img = rng.normal(size=(3, 6, 6)), rng.normal(size=(3, 6, 6))
    mean = np.array([0.1, 0.2, 0.3])

    def first(b):
        return (np.asarray(b) * weights).sum(axis=(1, 2, 3))

    def last(b):
        return (np.asarray(b) * weights.transpose(1, 2, 0)).sum(axis=(1, 2, 3))

    named = Game.image(first, img, grid=3, cells=["r1c0", (2, 2), 4], output="raw")
    assert named.player_names == ("r1c0", "r2c2", "r1c1") and named.info["cells"] == [3, 8, 4]
    seg = np.repeat(np.array([0, 0, 7, 7, 7, 7]), 6).reshape(6, 6)
    assert Game.image(first, img, segments=seg, cells=["segment 7"], output="raw").player_names == ("segment 7",)
    expected = (weights * mean[:, None, None]).sum()  # v(∅): every pixel at its channel's value
    assert Game.image(first, img, grid=2, baseline=mean, output="raw").evaluate().v_empty == pytest.approx(expected)
    assert Game.image(last, img.transpose(1, 2, 0), grid=2, baseline=mean, channel_axis=-1,
                      output="raw").evaluate().v_empty == pytest.approx(expected)
    with pytest.raises(HarsanyiValueError, match=r"Unknown cell 'r3c0'; cells are 0 … 8, \(row, column\), or by name "
                                                 r"'r0c0' … 'r2c2'\."):
        Game.image(first, img, grid=3, cells=["r3c0"])
    with pytest.raises(HarsanyiValueError, match=r"Expected a grid of 1x1 to 6x6 cells \(each cell at least a "
                                                 r"pixel\); received 0x0"):
        Game.image(first, img, grid=0)
    with pytest.raises(HarsanyiValueError, match=r"Expected a baseline of the image's shape \(3, 6, 6\), or one "
                                                 r"value per channel; received \(4,\)"):
        Game.image(first, img, grid=2, baseline=np.zeros(4))
    for grid in ("3x3", (3, 3, 3), (3, None)):
        with pytest.raises(HarsanyiValueError, match=r"Expected grid as a number of rows and columns, or \(rows, "
                                                     r"cols\); received"):
            Game.image(first, img, grid=grid)
    with pytest.raises(HarsanyiValueError, match=r"cells= is empty"):
        Game.image(first, img, grid=3, cells=[])
    for cell in [(0, 3), (3, 0), [1], True]:  # outside the grid, no (row, column) pair, a bool
        with pytest.raises(HarsanyiValueError, match=rf"Unknown cell {re.escape(repr(cell))}; cells are 0 … 8"):
            Game.image(first, img, grid=3, cells=[cell])
    for sigma in (0, -1.0, "1"):
        with pytest.raises(HarsanyiValueError, match=r"Expected blur_sigma > 0 \(the blur's standard deviation in "
                                                     r"pixels\); received"):
            Game.image(first, img, grid=2, baseline="blur", blur_sigma=sigma)


def test_image_segments_channels_last_and_errors():
    img = np.arange(2 * 4 * 4, dtype=float).reshape(4, 4, 2)
    seg = np.array([[0, 0, 1, 1]] * 2 + [[2, 2, 2, 7]] * 2)
    game = Game.image(lambda b: np.asarray(b).sum(axis=(1, 2, 3)), img, segments=seg, channel_axis=-1, output="raw")
    assert game.player_names == ("segment 0", "segment 1", "segment 2", "segment 7")
    table = game.evaluate()
    assert table[("segment 7",)] == pytest.approx(img[2:, 3].sum())  # zero baseline: only that segment remains
    with pytest.raises(HarsanyiValueError, match="exactly one of grid"):
        Game.image(lambda b: b, img, channel_axis=-1)
    with pytest.raises(HarsanyiValueError, match="Unknown cell 9"):
        Game.image(lambda b: b, img, segments=seg, cells=[9], channel_axis=-1)
    with pytest.raises(HarsanyiValueError, match=r"\(C, H, W\)"):
        Game.image(lambda b: b, np.zeros((2, 3, 4, 5)), grid=2)
    batched = Game.image(lambda b: np.asarray(b).sum(axis=(1, 2, 3)), img.transpose(2, 0, 1)[None], grid=2,
                         baseline=np.ones((1, 2, 4, 4)), output="raw")  # a batch of one image, and its baseline
    assert batched.evaluate().values[0] == 32.0 and batched.info["image_shape"] == [2, 4, 4]
    with pytest.raises(HarsanyiValueError, match=r"shape \(32, 24, 3\), which reads as 3 channels last.*channel_axis=-1"):
        Game.image(lambda b: b, np.zeros((32, 24, 3)), grid=2)  # a picture as PIL or imageio give it
    # a baseline (or image) that is not numbers, or not finite, is refused before the model is called; the
    # image's mean colour takes the NaN of its pixel into all 16 values of that channel
    for baseline, message in ((np.array(["grey"]), "Expected the baseline as numbers; received <U4 values"),
                              (None, "Expected the baseline as an array; received None"),
                              (np.nan, "The baseline has 32 missing or infinite values; pass finite numbers"),
                              ("mean", r"baseline='mean' has 16 missing or infinite values, taken from the image's")):
        spotted = img.copy()
        spotted[0, 0, 1] = np.nan
        with pytest.raises(HarsanyiValueError, match=message):
            Game.image(lambda b: pytest.fail("called"), spotted, grid=2, channel_axis=-1, baseline=baseline)
    with pytest.raises(HarsanyiValueError, match="Expected the image as numbers; received <U"):
        Game.image(lambda b: b, "photo.png", grid=2)


def test_a_torch_model_in_training_mode_with_dropout_or_batch_norm_is_refused():
    """Dropout in training mode makes v(S) random, batch norm makes it depend on the batch: refused, the modules
    named (TorchScript too); in eval mode, or with p = 0, the same model is fine."""
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Dropout(0.2), torch.nn.BatchNorm1d(8),
                                torch.nn.Linear(8, 1))
    message = r"training mode, where its modules '1' \(Dropout\), '2' \(BatchNorm1d\) .*Call model.eval\(\)"
    with pytest.raises(HarsanyiValueError, match=message):
        Game.tabular(model, np.ones(3), baseline="zero")
    with pytest.raises(HarsanyiValueError, match=message):
        Game.tabular(torch.jit.script(model), np.ones(3), baseline="zero")
    assert Game.tabular(model.eval(), np.ones(3), baseline="zero").n_players == 3
    inert = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Dropout(0.0))  # training mode, but nothing random
    assert Game.tabular(inert, np.ones(3), baseline="zero").n_players == 3


def test_a_model_whose_output_depends_on_the_batch_is_warned_about():
    """v(N) from the batch differs from the model on the input alone (here the model centres each batch): a warning;
    a per-input model (float32 torch, whose batch rounding is far below the 1 % tolerance) gets none."""
    import warnings

    def centred(X):
        X = np.asarray(X, dtype=float)
        return X.sum(1) - X.sum(1).mean() if len(X) > 1 else X.sum(1)

    with pytest.warns(UserWarning, match=r"is 4 alone but 2 in a batch: it depends on the other inputs"):
        Game.tabular(centred, np.ones(4), baseline="zero", output="raw").evaluate()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Game.tabular(mlp(6, 2, dtype=torch.float32), np.linspace(-1, 1, 6), baseline="zero").evaluate(batch_size=16)


def test_a_model_that_fails_on_the_input_gets_its_shape_its_error_and_the_fix():
    """The model's own error, chained, under a message that shows the input's shape and what to change."""
    from harsanyi import ModelInputError

    cnn = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.Flatten())  # takes (m, 3, H, W)
    image_error = r"image input .* shape \(1, 8, 8, 3\)\. RuntimeError: .*channel_axis=0"
    with pytest.raises(ModelInputError, match=image_error) as info:
        Game.image(cnn, np.zeros((8, 8, 3)), grid=2, channel_axis=-1)
    assert isinstance(info.value.__cause__, RuntimeError) and isinstance(info.value, HarsanyiValueError)
    with pytest.raises(ModelInputError, match=r"tabular input .* shape \(1, 4\)\. RuntimeError: .*in the order of x"):
        Game.tabular(torch.nn.Linear(3, 1), np.zeros(4), baseline="zero")


def test_image_segments_with_negative_labels_and_chosen_cells():
    """A label map may use any integers (−1 for an unlabelled background is common): every pixel belongs to the player
    of its own label. Checked against the brute-force masked sums over all coalitions (integers, so exact)."""
    img = np.arange(3 * 6 * 6, dtype=float).reshape(3, 6, 6)
    seg = np.repeat(np.repeat(np.array([[-1, 4, 4], [2, -3, 4]]), 3, axis=0), 2, axis=1)  # (6, 6)
    game = Game.image(lambda b: np.asarray(b).sum(axis=(1, 2, 3)), img, segments=seg, cells=[4, -1, -3],
                      output="raw")
    assert game.player_names == ("segment 4", "segment -1", "segment -3")
    values = game.evaluate().values
    for mask in range(8):
        kept = np.isin(seg, [lab for i, lab in enumerate([4, -1, -3]) if mask >> i & 1]) | (seg == 2)
        assert values[mask] == (img * kept).sum()
    with pytest.raises(HarsanyiValueError, match="integer labels.*fractional"):
        Game.image(lambda b: b, img, segments=seg + 0.5)


class BagOfWords(torch.nn.Module):
    def __init__(self, vocab=30, dim=4):
        super().__init__()
        torch.manual_seed(0)
        self.emb = torch.nn.Embedding(vocab, dim).double()
        self.head = torch.nn.Linear(dim, 2).double()

    def forward(self, ids_or_embeddings):
        e = self.emb(ids_or_embeddings) if not ids_or_embeddings.is_floating_point() else ids_or_embeddings
        return self.head(torch.tanh(e).mean(dim=1))


def test_text_words_tokens_and_embedding_masking():
    model = BagOfWords()
    ids = np.array([1, 5, 6, 7, 9, 2])  # [CLS] un ##like ##ly dog [SEP]
    tokens = ["[CLS]", "un", "##like", "##ly", "dog", "[SEP]"]
    special = [True, False, False, False, False, True]
    words = Game.text(model, ids, word_ids=[None, 0, 0, 0, 1, None], special_mask=special, tokens=tokens, mask_id=3)
    assert words.player_names == ("unlikely", "dog") and words.n_players == 2
    table = words.evaluate()
    masked = torch.tensor([[1, 3, 3, 3, 9, 2]])  # only "dog" present
    z = model(masked)[0].detach().numpy()
    c = words.info["target"]
    assert table[("dog",)] == pytest.approx(z[c] - z[1 - c])
    toks = Game.text(model, ids, players="tokens", special_mask=special, tokens=tokens, mask_id=3)
    assert toks.n_players == 4
    emb = Game.text(model, ids, word_ids=[None, 0, 0, 0, 1, None], special_mask=special, embedding=model.emb,
                    baseline_embedding=np.zeros(4))
    e = model.emb(torch.tensor(ids)).detach().clone()
    e[1:4] = 0.0
    z = model(e[None])[0].detach().numpy()
    c = emb.info["target"]
    assert emb.evaluate()[(1,)] == pytest.approx(z[c] - z[1 - c])
    with pytest.raises(HarsanyiValueError, match="players='words' needs word_ids"):
        Game.text(model, ids, mask_id=3)
    with pytest.raises(HarsanyiValueError, match="every token is special"):
        Game.text(model, ids, players="tokens", special_mask=[True] * 6, mask_id=3)
    with pytest.raises(HarsanyiValueError, match="needs mask_id"):
        Game.text(model, ids, players="tokens")
    # a batch of one text, (1, L), is the text itself; without token strings a word is named by its ids
    one = Game.text(model, ids[None], word_ids=[None, 0, 0, 0, 1, None], special_mask=special, mask_id=3)
    assert one.player_names == ("567", "9") and one.info["input_ids"] == ids.tolist()


@pytest.mark.parametrize("kwargs, message", [
    ({"input_ids": None}, r"Pass input_ids= \(a 1-D array of token ids\) or text= with a tokenizer="),
    ({"input_ids": [[1, 5], [6, 2]]}, r"Expected input_ids as a 1-D integer array; received int64 shape \(2, 2\)"),
    ({"input_ids": [1.0, 5.0, 2.0]}, r"1-D integer array; received float64 shape \(3,\)"),
    ({"players": "sentences"}, r"Expected players='words' or 'tokens'; received 'sentences'"),
    ({"special_mask": [True, False]}, r"Expected special_mask of length 6; received shape \(2,\)"),
    ({"tokens": ["[CLS]", "un"]}, r"Expected 6 token strings; received 2"),
    ({"word_ids": [None, 0, 1]}, r"Expected 6 word_ids; received 3"),
    ({"embedding": "own", "baseline_embedding": np.zeros(3)}, r"baseline_embedding of shape \(4,\); received \(3,\)"),
])
def test_text_bad_input_names_what_was_expected(kwargs, message):
    model = BagOfWords()
    args = {"input_ids": np.array([1, 5, 6, 7, 9, 2]), "word_ids": [None, 0, 0, 0, 1, None],
            "special_mask": [True, False, False, False, False, True], "mask_id": 3, **kwargs}
    if args.get("embedding") == "own":
        args["embedding"] = model.emb
    with pytest.raises(HarsanyiValueError, match=message):
        Game.text(model, args.pop("input_ids"), **args)


def test_text_with_a_tokenizer_an_unknown_word_is_a_player_and_an_empty_text_is_refused():
    """A tokenizer's special ids leave [CLS], [SEP] and the rest out of the players, but not [UNK]: it stands for a
    word of the text (an emoji, a word the vocabulary lacks)."""

    class Tokenizer:  # the parts of a Hugging Face tokenizer the builder uses
        all_special_ids, unk_token_id, mask_token_id, pad_token_id = [0, 1, 2, 3, 4], 4, 3, 0

        def __call__(self, text):
            vocabulary = {"good": 5, "movie": 9}
            return {"input_ids": [1] + [vocabulary.get(word, 4) for word in text.split()] + [2]}

        def convert_ids_to_tokens(self, ids):
            return [{1: "[CLS]", 2: "[SEP]", 4: "[UNK]", 5: "good", 9: "movie"}[i] for i in ids]

    game = Game.text(BagOfWords(), text="good 😀 movie", tokenizer=Tokenizer(), players="tokens")
    assert game.player_names == ("good", "[UNK]", "movie") and game.info["input_ids"] == [1, 5, 4, 9, 2]
    for empty in ("", " \n"):
        with pytest.raises(HarsanyiValueError, match="The text is empty: no words to explain."):
            Game.text(BagOfWords(), text=empty, tokenizer=Tokenizer(), players="tokens")


def test_text_for_a_hugging_face_classifier_by_ids_and_by_embeddings():
    """A transformers model as it comes: called on ids, its .logits read; with embedding=True its own embedding layer
    masks at the embedding level and the model is called with inputs_embeds=. With the [MASK] embedding as the
    baseline both games are the same game (1e-5: float32 attention on inputs built two ways)."""
    transformers = pytest.importorskip("transformers")
    config = transformers.BertConfig(vocab_size=40, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=16, max_position_embeddings=16, num_labels=2)
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(config).eval()
    ids = np.array([1, 11, 12, 13, 14, 2])
    common = dict(players="tokens", special_mask=[True, False, False, False, False, True], mask_id=3)
    by_ids = Game.text(model, ids, **common)
    by_embeddings = Game.text(model, ids, embedding=True, **common)
    c = by_ids.info["target"]
    rows = torch.tensor([[1, *[t if m >> i & 1 else 3 for i, t in enumerate([11, 12, 13, 14])], 2] for m in range(16)])
    with torch.no_grad():
        z = model(rows).logits.double().numpy()
    np.testing.assert_allclose(by_ids.evaluate().values, z[:, c] - z[:, 1 - c], rtol=0, atol=1e-5)
    np.testing.assert_allclose(by_embeddings.evaluate().values, by_ids.evaluate().values, rtol=0, atol=1e-5)
    with pytest.raises(HarsanyiValueError, match="embedding=True takes a Hugging Face model's own embedding layer"):
        Game.text(BagOfWords(), ids, embedding=True, **common)


def test_text_with_selected_words_keeps_the_others():
    """select=: only the chosen words are players (in the order given); every other word keeps its tokens in every
    masked input. Token ids: the model on each masked id row built by hand; strings: a brute-force join. 1e-12: the
    same float64 model on the same inputs."""
    model = BagOfWords()
    ids = np.array([1, 5, 6, 7, 9, 4, 8, 2])  # [CLS] un ##like ##ly dog a cat [SEP]
    word_ids = [None, 0, 0, 0, 1, 2, 3, None]
    special = [True] + [False] * 6 + [True]
    game = Game.text(model, ids, word_ids=word_ids, special_mask=special, mask_id=3, select=[3, 0],
                     tokens=["[CLS]", "un", "##like", "##ly", "dog", "a", "cat", "[SEP]"])
    assert game.player_names == ("cat", "unlikely") and game.info["word_player"] == [1, -1, -1, 0]
    c = game.info["target"]
    rows = [[1, *([5, 6, 7] if m >> 1 & 1 else [3, 3, 3]), 9, 4, 8 if m & 1 else 3, 2] for m in range(4)]
    z = model(torch.tensor(rows)).detach().numpy()
    np.testing.assert_allclose(game.evaluate().values, z[:, c] - z[:, 1 - c], rtol=0, atol=1e-12)
    tokens = Game.text(model, ids, players="tokens", special_mask=special, mask_id=3, select=[1])
    assert tokens.n_players == 1 and tokens.info["owner"] == [-1, -1, 0, -1, -1, -1, -1, -1]

    def lengths(texts):
        return np.array([sum(len(w) for w in t.split()) for t in texts], dtype=float)

    text = "the plot was great but the acting was awful"
    words = text.split()
    strings = Game.text(lengths, text=text, select=[8, 3, 5])
    assert strings.player_names == ("awful", "great", "the")
    chosen = {8: 0, 3: 1, 5: 2}
    joined = [[w for i, w in enumerate(words) if i not in chosen or m >> chosen[i] & 1] for m in range(8)]
    np.testing.assert_array_equal(strings.evaluate().values, [sum(map(len, ws)) for ws in joined])
    with pytest.raises(HarsanyiValueError, match=r"select= asks for words \[4\], but the text has 4 words"):
        Game.text(model, ids, word_ids=word_ids, special_mask=special, mask_id=3, select=[0, 4])
    with pytest.raises(HarsanyiValueError, match="each token may be one player once"):
        Game.text(model, ids, players="tokens", special_mask=special, mask_id=3, select=[1, 1])
    with pytest.raises(HarsanyiValueError, match="non-empty list of word positions"):
        Game.text(lengths, text=text, select=[])
    # words by name where the text has them once; the same game as by position
    named = Game.text(lengths, text=text, select=["awful", "great", 5])
    assert named.player_names == ("awful", "great", "the")
    np.testing.assert_array_equal(named.evaluate().values, strings.evaluate().values)
    assert Game.text(model, ids, word_ids=word_ids, special_mask=special, mask_id=3, select=["cat", "unlikely"],
                     tokens=["[CLS]", "un", "##like", "##ly", "dog", "a", "cat", "[SEP]"]).info["word_player"] == \
        [1, -1, -1, 0]
    with pytest.raises(HarsanyiValueError, match=r"select= names 'the', which the text has 2 times \(positions 0, "
                                                 r"5\); give the position of the one you mean"):
        Game.text(lengths, text=text, select=["the"])
    with pytest.raises(HarsanyiValueError, match=r"select= names 'film', which is not one of the text's words: "
                                                 r"\['the', 'plot'"):
        Game.text(lengths, text=text, select=["film"])


def test_content_words_leave_out_stop_words_punctuation_letters_and_numbers():
    """content_words against the rule spelled out word by word (scikit-learn's stop list), with BPE / SentencePiece /
    WordPiece marks and quotes stripped; K of them are drawn reproducibly and kept in order; select="content" and
    "content:K" make those words the players, on token ids and on strings alike."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from harsanyi import content_words

    words = ["The", "ĠFilm", "is", "n't", "a", "▁triumph", ",", "but", "##Tom", "shines", "“loudly”", "in", "1997",
             "x", "!"]
    expected = [1, 5, 8, 9, 10]
    assert all(words[i].lower() in ENGLISH_STOP_WORDS for i in (0, 2, 4, 7, 11))  # what the rule leaves out
    assert content_words(words) == expected
    drawn = content_words(words, 3, seed=4)
    assert drawn == sorted(drawn) and set(drawn) < set(expected) and drawn == content_words(words, 3, seed=4)
    assert {tuple(content_words(words, 3, seed=s)) for s in range(20)} != {tuple(drawn)}  # the seed matters
    with pytest.raises(HarsanyiValueError, match=r"Asked for 6 content words, but the text has 5: \['ĠFilm'"):
        content_words(words, 6)
    with pytest.raises(HarsanyiValueError, match="The text has no content words"):
        content_words(["the", ",", "a", "7"])
    with pytest.raises(HarsanyiValueError, match="as a positive integer; received 0"):
        content_words(words, 0)
    # a string is its words (it used to be read letter by letter); what is not words is refused
    assert content_words(" ".join(words)) == expected and content_words(np.array(words)) == expected
    with pytest.raises(HarsanyiValueError, match=r"Expected the words of a text \(a list of words, or a string\); "
                                                 r"received int"):
        content_words(1997)

    def lengths(texts):
        return np.array([sum(len(w) for w in t.split()) for t in texts], dtype=float)

    text = "the plot was great but the acting was awful"
    game = Game.text(lengths, text=text, select="content")
    assert game.player_names == ("plot", "great", "acting", "awful") and game.info["word_player"][0] == -1
    assert Game.text(lengths, text=text, select="content:2").n_players == 2
    ids = np.array([1, 5, 6, 7, 9, 4, 8, 2])
    tokens = ["[CLS]", "un", "##like", "##ly", "dog", "a", "cat", "[SEP]"]
    special = [True] + [False] * 6 + [True]
    by_ids = Game.text(BagOfWords(), ids, word_ids=[None, 0, 0, 0, 1, 2, 3, None], special_mask=special, mask_id=3,
                       tokens=tokens, select="content")
    assert by_ids.player_names == ("unlikely", "dog", "cat")  # "a" is a stop word and a single letter
    with pytest.raises(HarsanyiValueError, match=r"Expected select= as a list of word positions or words, 'content'"):
        Game.text(lengths, text=text, select="nouns")
    with pytest.raises(HarsanyiValueError, match=r"Expected select='content:K' with a whole number K"):
        Game.text(lengths, text=text, select="content:ten")


def test_text_for_models_that_read_strings():
    """text= without a tokenizer: the words are the players and the model gets the masked texts as strings. A word
    counter is additive (closed form: a dividend of 1 on every single word, 0 on every larger coalition); a
    TF-IDF pipeline matches a brute-force loop that joins the present words itself."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    text = "the plot was great but the acting was awful"
    words = text.split()

    def count(texts):
        return np.array([[len(t.split())] for t in texts], dtype=float)

    table = Game.text(count, text=text).evaluate()
    dividends = table.harsanyi()
    assert all(v == (1.0 if len(c) == 1 else 0.0) for c, v in dividends.items())
    kept = Game.text(count, text=text, mask_word="[UNK]").evaluate()  # every word is still a word
    np.testing.assert_array_equal(kept.values, np.full(1 << len(words), float(len(words))))

    reviews = ["great movie loved it", "terrible plot awful acting", "wonderful and great", "boring and awful",
               "loved the acting", "hated it terrible"] * 3
    model = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(reviews, [1, 0, 1, 0, 1, 0] * 3)
    game = Game.text(model, text=text, mask_word="[UNK]")
    assert game.player_names == ("the", "plot", "was", "great", "but", "the#2", "acting", "was#2", "awful")
    c = game.info["target"]
    masked = [" ".join(w if mask >> i & 1 else "[UNK]" for i, w in enumerate(words)) for mask in range(1 << 9)]
    p = np.clip(model.predict_proba(masked)[:, c], 1e-7, 1 - 1e-7)
    np.testing.assert_allclose(game.evaluate(batch_size=100).values, np.log(p / (1 - p)), rtol=0, atol=1e-12)
    with pytest.raises(HarsanyiValueError, match="A torch model takes token ids"):
        Game.text(BagOfWords(), text=text)
    with pytest.raises(HarsanyiValueError, match="players='tokens' needs a tokenizer"):
        Game.text(count, text=text, players="tokens")
    with pytest.raises(HarsanyiValueError, match="no words"):
        Game.text(count, text="  ")
    with pytest.raises(HarsanyiValueError, match=r"Expected mask_word as a string .*; received 3"):
        Game.text(count, text=text, mask_word=3)
    with pytest.raises(ModelOutputError, match=r"return numbers, shape \(1,\) .* e.g. \{'label': 'POS'"):
        Game.text(lambda texts: [{"label": "POS", "score": 0.9} for _ in texts], text=text)  # a pipeline's dicts
    with pytest.raises(HarsanyiValueError, match="Pass text= or input_ids=, not both"):
        Game.text(BagOfWords(), np.array([1, 5, 2]), text=text, players="tokens", mask_id=3)
    with pytest.raises(HarsanyiValueError, match="mask_word= is for models that read text"):
        Game.text(BagOfWords(), np.array([1, 5, 2]), players="tokens", mask_id=3, mask_word="[UNK]")


def test_torch_float32_batch_size_and_device_invariance():
    """float32 models: batch composition changes BLAS blocking, so values agree to float32 rounding (1e-5 rel)."""
    model = mlp(10, 2, dtype=torch.float32)
    x = np.linspace(-1, 1, 10)
    game = Game.tabular(model, x)
    ref = game.evaluate(batch_size=1024).values
    for bs in (1, 3, 100):
        np.testing.assert_allclose(game.evaluate(batch_size=bs).values, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(game.evaluate(device="cpu").values, ref, rtol=1e-5, atol=1e-5)
    if torch.cuda.is_available():  # exercised on the GPU machine; CI has none
        np.testing.assert_allclose(game.evaluate(device="cuda").values, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("batch_size", [1, 2, 4, 8, 64, 5])
def test_block_path_matches_brute_force_for_every_batch_layout(batch_size):
    """Aligned power-of-two batches reuse a template and rewrite only the fixed players' elements (as slices, or by
    index when they are scattered, as for image cells); batch 5 takes the mask path. All must give the same table."""
    rng = np.random.default_rng(3)
    img = rng.normal(size=(3, 16, 16))
    weights = rng.normal(size=(3, 16, 16))

    def f(batch):
        return np.tanh((np.asarray(batch) * weights).sum(axis=(1, 2, 3)))[:, None]

    game = Game.image(f, img, grid=(4, 4), cells=[0, 3, 5, 6, 10, 15], baseline="mean", output="raw")
    owner = np.broadcast_to(game.info["player_map"], img.shape).reshape(-1)
    base = np.broadcast_to(img.mean(axis=(1, 2), keepdims=True), img.shape).reshape(-1)
    expected = brute_values(lambda Z: f(Z.reshape(-1, 3, 16, 16))[:, 0], img.reshape(-1), base, owner, 6)
    np.testing.assert_allclose(game.evaluate(batch_size=batch_size).values, expected, atol=1e-12)

    model = mlp(6, 1)
    x = rng.normal(size=6)
    tab = Game.tabular(model, x, players=[[0, 5], [1], [3, 4]])  # feature 2 keeps its value
    expected = brute_values(lambda Z: numpy_twin(model)(Z)[:, 0], x, np.zeros(6), [0, 1, -1, 2, 2, 0], 3)
    np.testing.assert_allclose(tab.evaluate(batch_size=batch_size).values, expected, atol=1e-12)


class WritesIntoInput(torch.nn.Module):
    """A model that modifies its input in place (as a first ReLU(inplace=True) would)."""

    def __init__(self, d):
        super().__init__()
        torch.manual_seed(0)
        self.lin = torch.nn.Linear(d, 1).double()

    def forward(self, z):
        z.mul_(2.0).add_(1.0)
        return self.lin(z)


def test_model_writing_into_its_input_still_gets_correct_batches():
    model = WritesIntoInput(8)
    x = np.linspace(-1.0, 1.0, 8)
    w, b = (p.detach().numpy() for p in model.lin.parameters())
    expected = brute_values(lambda Z: ((2 * Z + 1) @ w.T + b)[:, 0], x, np.zeros(8), range(8), 8)
    for batch_size in (4, 32):  # many batches through the same buffer
        np.testing.assert_allclose(Game.tabular(model, x).evaluate(batch_size=batch_size).values, expected,
                                   atol=1e-12)


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_model_writing_into_one_fixed_players_elements_still_gets_correct_batches(backend):
    """A batch's buffer keeps the elements of the players whose bit did not change since the last batch. A model that
    shifts only such an element in place (the last feature: fixed within every batch of 4 or 32) would carry the
    shift into the next batches; the first and last rows' copies see it, and later batches are built afresh."""
    w = np.linspace(0.5, 2.0, 8)

    def shifts_last(z):
        z[:, -1] += 1.0
        return z @ w

    class ShiftsLast(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.as_tensor(w))  # float64, so the game's inputs are too

        def forward(self, z):
            z[:, -1] += 1.0
            return z @ self.w

    model = ShiftsLast() if backend == "torch" else shifts_last
    x = np.linspace(-1.0, 1.0, 8)
    expected = brute_values(lambda Z: (Z + np.eye(8)[-1]) @ w, x, np.zeros(8), range(8), 8)
    for batch_size in (4, 32):  # float64 model and reference: they differ by rounding only
        np.testing.assert_allclose(Game.tabular(model, x, baseline="zero").evaluate(batch_size=batch_size).values,
                                   expected, atol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_player_selections_from_one_pass_match_one_comparison_per_player(seed):
    """The template's per-player element selections (one pass over the owners) equal those from comparing the owners
    with each player: runs where a player has few, the element index where it has many (> MAX_RUNS), none for a
    player that owns nothing; non-players (owner n) belong to no one."""
    from harsanyi._builders import _Selection

    rng = np.random.default_rng(seed)
    n = 6
    segments = 40 if seed % 2 else 400  # about 5 runs per player, or about 50 (the index path)
    owner = np.repeat(rng.integers(0, n + 1, size=segments), rng.integers(1, 4, size=segments))
    owner[owner == 2] = n  # player 2 owns nothing
    fast = _Selection.per_player(owner, n, np.zeros(1))
    assert any(s.index is not None for s in fast) == (segments == 400)
    for k in range(n):
        selected = owner == k
        edges = np.flatnonzero(np.diff(np.concatenate([[0], selected.astype(np.int8), [0]])))  # where runs start, stop
        runs = list(zip(edges[0::2].tolist(), edges[1::2].tolist()))
        assert fast[k].runs == runs and bool(fast[k]) == bool(runs)
        assert (fast[k].index is None) == (len(runs) <= _Selection.MAX_RUNS)
        if fast[k].index is not None:
            np.testing.assert_array_equal(fast[k].index, np.flatnonzero(selected))


@pytest.mark.parametrize("method, builder, parameter", [("tabular", "tabular_game", "players"),
                                                          ("image", "image_game", "grid"),
                                                          ("text", "text_game", "select")])
def test_game_builders_show_their_parameters_and_documentation(method, builder, parameter):
    """help(Game.tabular) and a notebook's Game.tabular? list the builder's keywords, not a bare **kwargs."""
    import inspect

    from harsanyi import _builders

    bound, function = getattr(Game, method), getattr(_builders, builder)
    assert parameter in inspect.signature(bound).parameters
    assert list(inspect.signature(bound).parameters) == list(inspect.signature(function).parameters)
    assert bound.__doc__ == function.__doc__


def test_log_odds_at_the_probability_clamp_are_warned_about():
    """Probabilities within 1e-7 of 0 or 1 are clamped before the log-odds, so the coalitions where a model is that
    sure all get ±16.1: where at least 5 % of the table sits there, evaluate says so and names the fix; a model whose
    probabilities stay inside the clamp evaluates silently. The table itself is as computed."""
    w = np.array([30.0, -25.0, 20.0, 10.0, -5.0, 2.0])

    def sure(Z):  # a logistic model that saturates in float64: p = 1 or 0 exactly on most coalitions
        p = 1.0 / (1.0 + np.exp(-np.asarray(Z) @ w))
        return np.stack([1.0 - p, p], axis=1)

    def unsure(Z):
        p = 1.0 / (1.0 + np.exp(-0.1 * (np.asarray(Z) @ w)))
        return np.stack([1.0 - p, p], axis=1)

    x = np.ones(6)
    game = Game.tabular(sure, x, baseline="zero", model_output="probabilities", output="log-odds", target=1)
    with pytest.warns(UserWarning, match=r"masked inputs \(\d+%\) have a class probability within 1e-07 of 0 or 1, "
                                         r"where log-odds are clamped to ±16.1.*output='logit'.*output='prob'"):
        table = game.evaluate()
    bound = np.log((1 - 1e-7) / 1e-7)
    assert (np.abs(table.values) >= bound * (1 - 1e-9)).mean() >= 0.05
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Game.tabular(unsure, x, baseline="zero", model_output="probabilities", output="log-odds", target=1).evaluate()
        Game.tabular(sure, x, baseline="zero", model_output="probabilities", output="prob", target=1).evaluate()
