"""Integration tests on real models and data that install offline (harsanyi.zoo): game → table → certified
dividends and Shapley values → AND-OR concepts, small enough for CI (≤ 4 096 coalitions each)."""

import numpy as np
import pytest

from harsanyi import Game, HarsanyiValueError, fidelity_curve

torch = pytest.importorskip("torch")
zoo = pytest.importorskip("harsanyi.zoo")


def explained(game, *, max_iter=1500):
    """The whole pipeline on one game, with the checks every explanation must pass."""
    table = game.evaluate(progress=False)
    dividends = table.harsanyi()
    assert dividends.certificate.passed
    phi = table.shapley()
    assert phi.sum() == pytest.approx(table.v_full - table.v_empty, abs=1e-9 * max(1.0, table.scale))
    concepts = table.and_or(max_iter=max_iter)
    assert concepts.certificate.passed and concepts.l1_after <= concepts.l1_before * (1 + 1e-12)
    curve = concepts.fidelity_curve(max_k=1 << 20)  # every concept (the default stops at 1 024)
    assert curve.max_error[-1] <= concepts.tau / table.scale + 1e-9  # all concepts: within τ on every input
    plain = fidelity_curve(table.values, dividends.values, max_k=1 << 20)
    assert plain.rms_error[-1] == pytest.approx(0.0, abs=1e-9)
    return table, concepts


def test_adult_mlp_twelve_attributes():
    pytest.importorskip("pandas")
    try:
        train, test = zoo.adult("train"), zoo.adult("test")
    except ImportError as err:
        pytest.skip(str(err))
    model = zoo.train_mlp(train["X"], train["y"], steps=150)
    with torch.no_grad():
        accuracy = (model(torch.tensor(test["X"], dtype=torch.float32)).argmax(1).numpy() == test["y"]).mean()
    assert accuracy > 0.80  # a working census model (the majority class alone scores 0.75)
    game = Game.tabular(model, test["X"][0], players=train["players"], baseline="mean", background=train["X"])
    assert game.n_players == 12 and "marital-status" in game.player_names
    table, concepts = explained(game)
    assert concepts.salient() and all(c.players for c in concepts.salient())
    with pytest.raises(HarsanyiValueError, match=r"Expected X of shape \(m, d\) and y of m class indices 0, 1, …; "
                                                 r"received X of shape \(3, 2\) and y of shape \(3,\), dtype float64"):
        zoo.train_mlp([[0, 1], [1, 0], [1, 1]], [0.5, 1.0, 0.0])


def test_adult_as_it_comes_through_a_pipeline():
    """The raw census rows (strings for the categories) through a scikit-learn pipeline that encodes them: absent
    categories take their most frequent training value, and everything certifies as for the MLP."""
    pytest.importorskip("pandas")
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    try:
        train, y_train = zoo.adult_frame("train")
        test, y_test = zoo.adult_frame("test")
    except ImportError as err:
        pytest.skip(str(err))
    categories = list(train.select_dtypes(exclude="number").columns)
    assert len(categories) == 7 and train.shape[1] == 12
    encode = ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categories)],
                               remainder="passthrough")
    model = make_pipeline(encode, HistGradientBoostingClassifier(max_iter=30, random_state=0)).fit(train, y_train)
    assert model.score(test, y_test) > 0.80
    game = Game.tabular(model, test.iloc[0], baseline="mean", background=train)
    assert game.player_names == tuple(train.columns)
    baseline = dict(zip(game.player_names, game.info["baseline"]))
    assert baseline["sex"] == train["sex"].mode()[0] and baseline["age"] == pytest.approx(train["age"].mean())
    explained(game)


def test_mnist_cnn_on_a_grid_of_patches():
    try:
        X, y = zoo.mnist()
        cnn = zoo.mnist_cnn()
    except ImportError as err:
        pytest.skip(str(err))
    sample = np.arange(0, 5000, 10)  # the data are sorted by digit: every 10th covers all ten
    with torch.no_grad():
        accuracy = (cnn(torch.tensor(X[sample])).argmax(1).numpy() == y[sample]).mean()
    assert accuracy > 0.95
    image = X[2500]  # a 5
    black = np.full_like(image, (0.0 - 0.1307) / 0.3081)  # the blank page, in the CNN's normalisation
    cells = [(r, c) for r in range(1, 6) for c in range(2, 5)][:10]  # 10 of the 7 × 7 grid's central cells
    game = Game.image(cnn, image, grid=(7, 7), cells=cells, baseline=black)
    assert game.info["predicted_class"] == y[2500] and game.n_players == 10
    explained(game)


def test_efficientnet_lite0_on_a_real_photo():
    try:
        model = zoo.efficientnet_lite0()
    except ImportError as err:
        pytest.skip(str(err))
    image = zoo.photo("china.jpg")
    cells = [5, 6, 9, 10, 1, 2]  # six patches of a 4 × 4 grid around the building: 64 forward passes
    game = Game.image(model, image, grid=(4, 4), cells=cells, baseline="zero")  # zero = the ImageNet mean colour
    assert game.info["predicted_class"] in (442, 483, 497, 698)  # bell cote, castle, church, palace
    explained(game, max_iter=500)


def test_minilm_sentiment_head_on_words():
    try:
        model, tokenizer, info = zoo.sentiment_model(seed=0)
    except ImportError as err:
        pytest.skip(str(err))
    assert info["held_out_accuracy"] >= 0.75  # held-out WEAT words: MiniLM separates pleasant from unpleasant
    sentence = "my violin means love not grief"
    game = Game.text(model, text=sentence, tokenizer=tokenizer)
    assert game.player_names == ("my", "violin", "means", "love", "not", "grief")
    table, concepts = explained(game)
    phi = dict(zip(game.player_names, table.shapley()))
    target = game.info["target"]  # 1: pleasant
    sign = 1.0 if target == 1 else -1.0
    assert sign * phi["love"] > 0 > sign * phi["grief"]  # the sentiment words carry the sentiment


def test_composed_sentences_keep_to_the_word_counts_asked_for():
    try:
        default = zoo.sentences(40, seed=3)
    except ImportError as err:
        pytest.skip(str(err))
    assert default == zoo.sentences(40, seed=3, max_words=9)  # the study's inputs do not move with new templates
    assert {len(s.split()) for s in default} <= {6, 8, 9}
    long = zoo.sentences(10, seed=3, min_words=12, max_words=12)
    assert all(len(s.split()) == 12 for s in long) and len(set(long)) > 1
    with pytest.raises(ValueError, match=r"admit a template of 6, 8, 9, 11 or 12 words; received min_words=10, "
                                         r"max_words=10"):
        zoo.sentences(1, min_words=10, max_words=10)
