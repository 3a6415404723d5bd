"""HTML reports, opened in a real headless Chromium: the numbers shown equal the saved result's, no console errors,
no network requests. Screenshots are kept in artifacts/screenshots/ (CI keeps them as test artefacts)."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("jinja2")
pytest.importorskip("matplotlib")
torch = pytest.importorskip("torch")

from harsanyi import Explanation, Game, Interactions, ValueTable, explain  # noqa: E402
from harsanyi.exceptions import CacheError, HarsanyiValueError  # noqa: E402
from harsanyi.report import render_report, write_index, write_report  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def tabular_explanation(x=None, target=None):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))
    x = np.linspace(-1.0, 1.0, 6) if x is None else x
    game = Game.tabular(model, x, players={"a": [0, 1], "b": [2], "c": [3], "d": [4, 5]},
                        feature_names=[f"f{i}" for i in range(6)], target=target)
    return explain(game, time_limit=5, progress=False)


def image_explanation():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(1, 12, 12))

    def model(batch):
        z = (np.asarray(batch) * weights).sum(axis=(1, 2, 3))
        return np.stack([np.tanh(z), -np.tanh(z) + 0.1 * z ** 2], axis=1)

    game = Game.image(model, rng.normal(size=(1, 12, 12)), grid=(3, 3), cells=[0, 1, 3, 4, 8], baseline="zero")
    return explain(game, time_limit=5, progress=False)


def text_explanation():
    class BagOfWords(torch.nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(1)
            self.emb = torch.nn.Embedding(40, 8)
            self.head = torch.nn.Linear(8, 2)

        def forward(self, ids):
            return self.head(torch.tanh(self.emb(ids)).mean(1))

    ids = np.array([1, 11, 12, 13, 14, 15, 2])
    game = Game.text(BagOfWords(), ids, players="tokens", special_mask=[True] + [False] * 5 + [True],
                     tokens=["[CLS]", "the", "film", "was", "not", "bad", "[SEP]"], mask_id=3)
    return explain(game, time_limit=5, progress=False)


EXPLANATIONS = {"tabular": tabular_explanation, "image": image_explanation, "text": text_explanation}


def test_save_load_roundtrip_and_bad_file(tmp_path):
    ex = tabular_explanation()
    back = Explanation.load(ex.save(tmp_path / "result"))
    np.testing.assert_array_equal(back.and_, ex.and_)
    assert back.player_names == ex.player_names and back.andor_certificate == ex.andor_certificate
    assert back.certificate_sentence() == ex.certificate_sentence()
    # one line with what a reader looks for first, not a dump of the 2ⁿ-long arrays
    assert repr(back) == repr(ex)
    assert repr(ex).startswith(f"Explanation(tabular, 4 players: a, b, c, d; v(N) = {ex.values[-1]:.6g} (log-odds "
                               f"of class {ex.info['target']}); {len(ex.salient())} salient AND-OR concepts of "
                               f"{ex.n_concepts}, optimality gap ≤ ")
    assert repr(ex).endswith("certificates hold)") and "\n" not in repr(ex) and "array" not in repr(ex)
    (tmp_path / "bad.npz").write_text("not a result")
    with pytest.raises(CacheError, match=r"Cannot read .*bad.npz' as a harsanyi explanation \(it is not a .npz archive"):
        Explanation.load(tmp_path / "bad.npz")
    ValueTable(ex.values).save(tmp_path / "table.npz")  # a value table is not a result
    with pytest.raises(CacheError, match=r"as a harsanyi explanation \(the archive has no \['dividends', 'shapley'"):
        Explanation.load(tmp_path / "table.npz")


def test_every_writer_makes_its_folders_and_refuses_a_file_in_the_way(tmp_path):
    """Results, tables, reports and caches go into folders made as needed; where part of the path is a file, the
    error names it (not FileExistsError), and nothing is written."""
    game = Game.from_function(lambda masks: masks.sum(axis=1).astype(float), 3)
    ex = explain(game, progress=False)
    table = game.evaluate(progress=False)
    writers = {"result": lambda base: ex.save(base / "e.npz"), "table": lambda base: table.save(base / "t.npz"),
               "dividends": lambda base: table.harsanyi().save(base / "h.npz"),
               "report": lambda base: write_report(ex, base / "r.html"),
               "cache": lambda base: game.evaluate(cache=base / "cache", progress=False)}
    blocker = tmp_path / "a file"
    blocker.write_text("in the way")
    for what, write in writers.items():
        assert write(tmp_path / "new" / "deeper") is not None, what
        with pytest.raises(HarsanyiValueError, match=r"Cannot write .*: '.*a file' is a file, not a folder"):
            write(blocker / "sub")
    assert blocker.read_text() == "in the way"

    # a folder given where a file is meant is refused, with a file path in it to use instead
    files = {"result": (ex.save, "the explanation", "name.npz"), "table": (table.save, "the value table", "name.npz"),
             "dividends": (table.harsanyi().save, "the interactions", "name.npz"),
             "report": (lambda path: write_report(ex, path), "the page", "report.html")}
    for what, (write, noun, example) in files.items():
        with pytest.raises(HarsanyiValueError, match=rf"is a folder; pass a file path for {noun}, e.g. "
                                                     rf"'.*{example}'"):
            write(tmp_path)
    with pytest.raises(HarsanyiValueError, match=r"Expected an Explanation \(harsanyi.explain\(game\)\) or the path of "
                                                 r"a saved one; received Game"):
        write_report(game, tmp_path / "r.html")
    with pytest.raises(HarsanyiValueError, match=r"Expected the reports as a mapping \{report path: Explanation"):
        write_index([ex], tmp_path / "index.html")


def test_save_adds_npz_as_numpy_does_and_load_finds_it(tmp_path):
    """save("name") writes name.npz (and "name.v2" name.v2.npz, as numpy.savez does); load("name") reads what
    save("name") wrote."""
    game = Game.from_function(lambda masks: masks.sum(axis=1).astype(float), 3)
    ex, table = explain(game, progress=False), game.evaluate(progress=False)
    for thing, load in [(ex, Explanation.load), (table, ValueTable.load), (table.harsanyi(), Interactions.load)]:
        for name in ("plain", "with.dot"):
            path = thing.save(tmp_path / name)
            assert path == tmp_path / f"{name}.npz" and path.exists()
            np.testing.assert_array_equal(load(tmp_path / name).values, thing.values)


def test_explain_takes_a_game_and_says_how_to_build_one():
    with pytest.raises(HarsanyiValueError, match=r"explain\(\) takes a Game.*received Linear.*Game.tabular"):
        explain(torch.nn.Linear(3, 1))


@pytest.mark.parametrize("arguments, message", [({"qthres": -1}, r"Expected qthres ≥ 0"),
                                                ({"time_limit": 0}, r"Expected time_limit to be a number of seconds"),
                                                ({"max_iter": 0}, r"Expected max_iter to be a positive integer"),
                                                ({"tol": 2}, r"Expected tol in \(0, 1\)")])
def test_explain_refuses_bad_and_or_arguments_before_evaluating(arguments, message):
    """Not after minutes of model calls: the game is never evaluated."""
    calls = []
    game = Game.from_function(lambda masks: calls.append(len(masks)) or masks.sum(axis=1).astype(float), 4)
    with pytest.raises(HarsanyiValueError, match=message):
        explain(game, progress=False, **arguments)
    assert calls == []


def test_report_html_holds_the_numbers_and_no_external_references():
    ex = image_explanation()
    html = render_report(ex)
    assert 'id="certificate"' in html and f'data-coalitions="{1 << ex.n_players}"' in html
    assert "http://" not in html and "https://" not in html and "<script src" not in html


def test_a_table_at_the_probability_clamp_is_a_caveat_of_the_result_and_its_report(tmp_path):
    """Where most log-odds sit at the clamp of probabilities, the explanation says so in caveats(), after a save and
    load too, and its report shows it beside the certificate; a model that is never that sure has no caveat."""
    w = np.array([30.0, -25.0, 20.0, 10.0, -5.0])

    def model(scale):
        def probabilities(Z):
            p = 1.0 / (1.0 + np.exp(-scale * (np.asarray(Z) @ w)))
            return np.stack([1.0 - p, p], axis=1)
        return probabilities

    game = Game.tabular(model(1.0), np.ones(5), baseline="zero", model_output="probabilities", target=1)
    with pytest.warns(UserWarning, match="clamped"):
        ex = explain(game, time_limit=5, progress=False)
    at = int((np.abs(ex.values) >= np.log((1 - 1e-7) / 1e-7) * (1 - 1e-9)).sum())
    assert at >= 2 and ex.info["at_clamp"] == at
    expected = f"{at:,} of the 32 masked inputs ({at / 32:.0%}) have a class probability within 1e-07 of 0 or 1"
    assert len(ex.caveats()) == 1 and ex.caveats()[0].startswith(expected)
    assert repr(ex).endswith("certificates hold; 1 caveat(s), see .caveats())")
    ex.save(tmp_path / "sure.npz")
    assert Explanation.load(tmp_path / "sure.npz").caveats() == ex.caveats()
    assert f'<p class="caveat">Caveat: {expected}' in render_report(ex)
    index = write_index({tmp_path / "sure.html": ex, tmp_path / "plain.html": tabular_explanation()},
                        tmp_path / "index.html").read_text()
    assert index.count('data-caveats="1" title="' + expected) == 1 and index.count('data-caveats="0">none<') == 1
    calm = explain(Game.tabular(model(0.05), np.ones(5), baseline="zero", model_output="probabilities", target=1),
                   time_limit=5, progress=False)
    assert calm.info["at_clamp"] == 0 and calm.caveats() == [] and 'class="caveat"' not in render_report(calm)
    assert repr(calm).endswith("certificates hold)")
    logits = tabular_explanation()
    assert logits.caveats() == [] and "at_clamp" not in logits.info  # log-odds from logits are never clamped


def test_a_model_that_depends_on_the_batch_is_a_caveat_of_its_result():
    """A model whose output on the whole input differs alone and in a batch (it centres each batch): the warning of
    evaluate is also a caveat of the explanation and its report."""
    def centred(X):
        X = np.asarray(X, dtype=float)
        return X.sum(1) - X.sum(1).mean() if len(X) > 1 else X.sum(1)

    with pytest.warns(UserWarning, match="in a batch"):
        ex = explain(Game.tabular(centred, np.ones(4), baseline="zero", output="raw"), time_limit=5, progress=False)
    said = ("The model's output on the whole input is 4 alone but 2 in a batch: it depends on the other inputs of the "
            "batch (batch norm in training mode, a stateful or random model), so the value table is not a function of "
            "the coalitions.")
    assert ex.caveats() == [said] and f'<p class="caveat">Caveat: {said}' in render_report(ex).replace("&#39;", "'")


def test_report_of_a_grey_image_without_a_channel_axis(tmp_path):
    """A (H, W) image (channel_axis=None, as a scikit-learn digits classifier takes it) saves, loads and reports:
    the report once failed on int(None)."""
    weights = np.random.default_rng(1).normal(size=(8, 8))
    game = Game.image(lambda b: (np.asarray(b) * weights).sum(axis=(1, 2)), np.ones((8, 8)), grid=(2, 2),
                      channel_axis=None, output="raw")
    ex = Explanation.load(explain(game, time_limit=5, progress=False).save(tmp_path / "grey"))
    assert ex.inputs["channel_axis"] is None and ex.inputs["image"].shape == (8, 8)
    html = write_report(ex, tmp_path / "grey.html").read_text()
    assert 'id="input-image"' in html and html.count("data:image/png;base64,") >= 2  # the input and a concept


def test_text_report_draws_the_interaction_tree_of_the_words():
    ex = text_explanation()
    tree = ex.interaction_tree()
    assert tree.root.bracketed().replace("(", "").replace(")", "").split() == list(ex.player_names)
    assert 'alt="interaction tree: adjacent words merged' in render_report(ex)
    assert 'alt="interaction tree' not in render_report(image_explanation())  # grid cells have no reading order


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("HARSANYI_REQUIRE_BROWSER"):
            pytest.fail("HARSANYI_REQUIRE_BROWSER is set but no chromium binary is on PATH")
        pytest.skip("no chromium on this machine (CI installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def open_page(browser, path: Path):
    page = browser.new_page(viewport={"width": 1200, "height": 1400})
    errors, requests = [], []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, errors, requests


@pytest.mark.parametrize("kind", list(EXPLANATIONS))
def test_report_in_chromium_shows_the_result_files_numbers(browser, tmp_path, kind):
    result = EXPLANATIONS[kind]().save(tmp_path / f"{kind}.npz")
    ex = Explanation.load(result)
    report = write_report(result, tmp_path / f"{kind}.html")
    page, errors, requests = open_page(browser, report)
    prediction = page.locator("#prediction")
    assert float(prediction.get_attribute("data-value")) == float(ex.values[-1])
    certificate = page.locator("#certificate")
    assert int(certificate.get_attribute("data-salient")) == len(ex.salient())
    assert int(certificate.get_attribute("data-concepts")) == len(ex.concepts()) == ex.n_concepts
    assert float(certificate.get_attribute("data-residual")) == ex.andor_certificate.residual
    assert int(certificate.get_attribute("data-coalitions")) == 1 << ex.n_players
    assert ex.certificate_sentence() in certificate.inner_text().replace("\n", " ")
    assert page.locator("#salient-table tbody tr").count() == len(ex.salient())
    images = page.locator("img")
    assert images.count() >= 5 and all(images.nth(i).evaluate("e => e.naturalWidth > 0") for i in range(images.count()))
    # the table sorts: |value| ascending on the first click, descending on the second
    header = page.locator("#salient-table th").nth(4)
    magnitudes = sorted(abs(c.value) for c in ex.salient())

    def column():
        return [float(v) for v in page.locator("#salient-table tbody td:nth-child(5)").evaluate_all(
            "cells => cells.map(c => c.dataset.sort)")]

    header.click()
    assert column() == pytest.approx(magnitudes)
    header.click()
    assert column() == pytest.approx(magnitudes[::-1])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"report-{kind}.png"), full_page=True)
    assert errors == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []


def test_index_links_every_report(browser, tmp_path):
    reports = {}
    for kind, make in EXPLANATIONS.items():
        ex = make()
        reports[write_report(ex, tmp_path / f"{kind}.html")] = ex
    index = write_index(reports, tmp_path / "index.html")
    page, errors, requests = open_page(browser, index)
    assert page.locator("#reports a").count() == 3
    page.locator("#reports a").first.click()
    page.wait_for_load_state("load")
    assert page.locator("#certificate").count() == 1
    assert errors == [] and [u for u in requests if not u.startswith(("file:", "data:"))] == []


def test_index_lists_the_concepts_that_recur_within_a_class(tmp_path):
    """Four rows of the same model and players, three explaining class 1 and one class 0: the index has one table of
    recurring concepts, for class 1, whose counts are concept_statistics' of those three explanations."""
    from harsanyi import concept_statistics

    rng = np.random.default_rng(2)
    explanations = [tabular_explanation(rng.normal(size=6), target=t) for t in (1, 1, 0, 1)]
    reports = {write_report(ex, tmp_path / f"row{i}.html"): ex for i, ex in enumerate(explanations)}
    html = write_index(reports, tmp_path / "index.html", recurring=4).read_text()
    assert html.count('<table class="recurring"') == 1 and "(class 1)" in html and "(class 0)" not in html
    top = concept_statistics([explanations[i] for i in (0, 1, 3)]).top(4)
    rows = html.split('<table class="recurring"')[1].split("<tr data-inputs=")[1:]
    assert len(rows) == len(top) == 4
    for row, concept in zip(rows, top):
        joiner = " AND " if concept.kind == "AND" else " OR "
        assert f"{concept.kind}({joiner.join(concept.players)})" == concept.label and concept.label in row
        assert f"{concept.positive + concept.negative} of 3" in row and f"{concept.discrimination:.2f}" in row
    chance = concept_statistics([explanations[i] for i in (0, 1, 3)]).discrimination_by_frequency()["weighted_chance"]
    assert f"random signs would give\n{chance:.2f}" in html
    assert '<table class="recurring"' not in write_index(reports, tmp_path / "plain.html", recurring=0).read_text()


def test_demo_report_in_chromium(browser, tmp_path):
    """`harsanyi demo` ends by writing its report: the numbers shown equal its result file's."""
    pytest.importorskip("sklearn")
    from harsanyi.cli import main

    assert main(["demo", "--top", "2", "--time-limit", "2", "--out-dir", str(tmp_path)]) == 0
    ex = Explanation.load(tmp_path / "demo.npz")
    page, errors, requests = open_page(browser, tmp_path / "demo.html")
    assert float(page.locator("#prediction").get_attribute("data-value")) == float(ex.values[-1])
    certificate = page.locator("#certificate")
    assert int(certificate.get_attribute("data-salient")) == len(ex.salient())
    assert int(certificate.get_attribute("data-coalitions")) == 16_384
    assert float(certificate.get_attribute("data-residual")) == ex.andor_certificate.residual
    assert "breast-cancer" in page.title()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-demo.png"), full_page=True)
    assert errors == [] and [u for u in requests if not u.startswith(("file:", "data:"))] == []
