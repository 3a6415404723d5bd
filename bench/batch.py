"""The automatic batch of ``Game.evaluate`` on the CPU against a larger one, in one process, alternating.

    python bench/batch.py                 # the bench MLP at n = 16 and 20, the MNIST CNN, EfficientNet-Lite0
    python bench/batch.py --skip-images   # the MLPs only (no model packages needed)

For each game: all 2ⁿ coalitions evaluated with the batch ``evaluate()`` picks (about 1 MiB of model input on the
CPU) and with the batch of the former rule (about 64 MiB of model input, at most 2¹⁶), best and median of --repeat.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from harsanyi import Game


def former_batch(game: Game) -> int:
    """The automatic batch before the ninth session: about 64 MiB of model input, a power of two, ≤ 2¹⁶ and 2ⁿ."""
    per = max(game._bytes_per_coalition, 8 * game.n_players, 1)
    return int(min(1 << max(int(np.log2(max((64 << 20) // per, 1))), 0), 1 << 16, 1 << game.n_players))


def compare(name: str, game: Game, repeat: int) -> None:
    old, new = former_batch(game), game._auto_batch_size()
    times = {old: [], new: []}
    for _ in range(repeat):
        for batch in (old, new):
            start = time.perf_counter()
            game.evaluate(batch_size=batch, progress=False)
            times[batch].append(time.perf_counter() - start)
    print(f"{name:<42} n={game.n_players:>2}  former batch {old:>6}: {min(times[old]):8.3f} s best, "
          f"{np.median(times[old]):8.3f} median;  now {new:>6}: {min(times[new]):8.3f} s best, "
          f"{np.median(times[new]):8.3f} median;  {np.median(times[old]) / np.median(times[new]):.2f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-images", action="store_true")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}")
    for n in (16, 20):
        torch.manual_seed(n)
        model = torch.nn.Sequential(torch.nn.Linear(n, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
                                    torch.nn.Linear(64, 1)).eval()
        game = Game.tabular(model, np.linspace(-1.0, 1.0, n), baseline="zero", output="raw")
        compare("MLP n → 64 → 64 → 1 (bench/exact.py's)", game, args.repeat)
    if args.skip_images:
        return
    from harsanyi import zoo

    images, _ = zoo.mnist()
    game = Game.image(zoo.mnist_cnn(), images[0].reshape(1, 28, 28), grid=(4, 4), baseline="zero")
    compare("MNIST CNN, 4 × 4 patches", game, max(1, args.repeat - 1))
    game = Game.image(zoo.efficientnet_lite0(), zoo.photo(), grid=(4, 4), cells=[5, 6, 9, 10, 1, 2, 13, 14],
                      baseline="zero")
    compare("EfficientNet-Lite0, 8 cells of a 4 × 4 grid", game, max(1, args.repeat - 1))


if __name__ == "__main__":
    main()
