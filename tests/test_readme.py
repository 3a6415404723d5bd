"""The README's Python examples run as written, one after the other (as a reader would paste them), and print what
their comments say."""

import re
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_examples_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 2  # "In twenty lines" and the AND-OR concepts
    assert len(blocks[0].strip().splitlines()) <= 20
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    out = capsys.readouterr().out
    assert "universal matching (AND) holds on all 1,024 coalitions" in out
    table, concepts = namespace["table"], namespace["concepts"]
    assert table.n_players == 10 and table.player_names[:2] == ("radius", "texture")
    assert concepts.certificate.passed and concepts.l1_after < concepts.l1_before
    assert str(concepts.salient()[0]) in out  # the salient concepts, as the loop prints them
