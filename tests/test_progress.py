"""Progress bars redraw ten times a second on a terminal, every half minute into a file or pipe."""

import io
import time

import numpy as np

from harsanyi import Game
from harsanyi._progress import LOG_INTERVAL, progress_bar


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_interval_by_stream():
    with progress_bar(total=3, file=io.StringIO()) as bar:
        assert bar.mininterval == LOG_INTERVAL == 30.0
    with progress_bar(total=3, file=_Terminal()) as bar:
        assert bar.mininterval == 0.1  # tqdm's own
    with progress_bar(total=3, file=io.StringIO(), mininterval=1.0) as bar:  # the caller's choice is kept
        assert bar.mininterval == 1.0


def test_log_of_a_long_evaluation(capsys):
    # 2^15 coalitions in 32 batches of 20 ms: into a pipe (pytest's capture) the bar is drawn when it opens and
    # closes, not every 0.1 s (six times or more here) as on a terminal
    def slow(masks):
        time.sleep(0.02)
        return np.asarray(masks).sum(1) * 1.0

    Game.from_function(slow, 15).evaluate(batch_size=1 << 10, progress=True)
    err = capsys.readouterr().err
    assert err.count("\r") <= 3, err
    assert "32.8k/32.8k" in err
