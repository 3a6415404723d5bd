"""The command line end to end."""

import pytest

from harsanyi.cli import main

pytest.importorskip("torch")
pytest.importorskip("sklearn")


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "demo" in capsys.readouterr().out


def test_demo_explains_and_certifies(capsys):
    assert main(["demo", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "evaluated all 2^14 = 16,384 masked inputs" in out
    assert "Top Harsanyi (AND) concepts" in out and "Shapley values" in out and "2-SII" in out
    assert "PASSED" in out and "on all 16,384 masked inputs" in out


def test_bad_argument_names_the_problem(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--index", "many"])
    assert "invalid int value: 'many'" in capsys.readouterr().err
