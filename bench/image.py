"""Image-game benchmark on a real CNN: the exact pipeline against the bare model, in one process.

    python bench/image.py --model efficientnet --players 20 --device cuda   # the GPU path (when a GPU is lent)
    python bench/image.py --model mnist --players 16                       # the MNIST CNN on a CPU

Game: one real input, a grid of patches as players (the first --players cells of the grid, centre first), zero
baseline, v(S) = the log-odds of the predicted class (the papers' default). Columns:
  bare     the model's forward passes alone over 2ⁿ inputs: one pre-built batch fed 2ⁿ / B times, so no masking,
           no output transform and no copy back. A lower bound on any exact method's time.
  ours     Game.evaluate (masks, model, log-odds, float64 table) + Harsanyi dividends (certified) + Shapley values
           + k-SII of order 2
  ours/bare, images/s of ours, peak device memory, and the certificate (residual, efficiency gap)
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from harsanyi import Game, zoo


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def load(name: str):
    """(model, image, grid) of a real CNN and one real input."""
    if name == "efficientnet":
        return zoo.efficientnet_lite0(), zoo.photo("china.jpg"), (5, 5)
    X, y = zoo.mnist()
    return zoo.mnist_cnn(), X[0], (5, 5)


def centre_first(rows: int, cols: int) -> list[int]:
    cells = [(r, c) for r in range(rows) for c in range(cols)]
    cells.sort(key=lambda rc: ((rc[0] - (rows - 1) / 2) ** 2 + (rc[1] - (cols - 1) / 2) ** 2, rc))
    return [r * cols + c for r, c in cells]


def bare(model, image, n: int, batch: int, device: str) -> float:
    inputs = torch.as_tensor(image, device=device).expand(batch, *image.shape).contiguous()
    synchronize(device)
    start = time.perf_counter()
    with torch.no_grad():
        for _ in range(max(1, (1 << n) // batch)):
            model(inputs)
    synchronize(device)
    return time.perf_counter() - start


def ours(model, image, grid, cells, batch: int, device: str):
    start = time.perf_counter()
    game = Game.image(model, image, grid=grid, cells=cells, baseline="zero", device=device)
    table = game.evaluate(batch_size=batch, progress=False)
    dividends, phi, ksii = table.harsanyi(), table.shapley(), table.index("k-SII", 2)
    synchronize(device)
    return time.perf_counter() - start, table, dividends, phi, ksii


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["efficientnet", "mnist"], default="efficientnet")
    parser.add_argument("--players", type=int, nargs="+", default=[20])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=1, help="back-to-back (bare, ours) pairs per n")
    parser.add_argument("--channels-last", action="store_true", help="run the model in channels-last memory format")
    args = parser.parse_args()
    torch.backends.cudnn.benchmark = True
    model, image, grid = load(args.model)
    model = model.to(args.device)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor() or platform.machine()
    print(f"{args.model} on {name}, device {args.device}, torch {torch.__version__}, batch {args.batch}, "
          f"grid {grid[0]}x{grid[1]}, image {tuple(image.shape)}")
    print(f"{'n':>3} {'2^n':>9} {'bare s':>8} {'ours s':>8} {'ours/bare':>9} {'img/s':>9} {'peak GiB':>8}  certificate")
    order = centre_first(*grid)
    bare(model, image, 0, args.batch, args.device)  # warm-up: cudnn picks its kernels, the allocator fills
    for n in args.players:
        cells = order[:n]
        batch = min(args.batch, 1 << n)
        if args.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        pairs = [(bare(model, image, n, batch, args.device), ours(model, image, grid, cells, batch, args.device))
                 for _ in range(args.repeat)]
        bare_t = min(p[0] for p in pairs)
        ours_t, table, dividends, phi, ksii = min((p[1] for p in pairs), key=lambda r: r[0])
        ratio = float(np.median([o[0] / b for b, o in pairs]))
        peak = torch.cuda.max_memory_allocated() / 2**30 if args.device.startswith("cuda") else float("nan")
        gap = abs(phi.sum() - (table.values[-1] - table.values[0]))
        print(f"{n:>3} {1 << n:>9,} {bare_t:>8.2f} {ours_t:>8.2f} {ratio:>9.3f} {(1 << n) / ours_t:>9,.0f} "
              f"{peak:>8.2f}  residual {dividends.certificate.residual:.1e}, SV efficiency gap {gap:.1e}, "
              f"v(N)-v(0) {table.values[-1] - table.values[0]:.3f}", flush=True)


if __name__ == "__main__":
    main()
