"""``harsanyi explain`` (a user's saved model and input → result file + HTML report) and ``harsanyi report``."""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import pickle
import sys
from pathlib import Path

import numpy as np

from ._builders import _listed
from ._files import file_in_the_way
from ._models import _is_torch_module
from ._progress import progress_bar
from .exceptions import HarsanyiError, HarsanyiValueError, MemoryBudgetError

_SHOWN = 5  # Shapley values and concepts printed by `harsanyi explain` (the report has them all)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff"}


def add_explain_commands(sub) -> None:
    e = sub.add_parser(
        "explain",
        help="explain one input of your own model: a result file and an HTML report",
        description="Explain one input of a saved model exactly: evaluate all 2^n masked inputs, compute the "
        "certified dividends, Shapley values, k-SII pairs and AND-OR concepts, save them (RESULT.npz) and write a "
        "self-contained HTML report. Models: TorchScript (.pt/.pth saved with torch.jit.save), a torch state dict "
        "with --model-class module:Class, or a pickled scikit-learn estimator (.pkl/.pickle/.joblib). Data: a CSV "
        "or .npy table (one row explained, --row; several, --rows), an image file or an (C,H,W)/(H,W,C) .npy array with --grid, or "
        "a .txt file (with --tokenizer for a torch model; a pickled pipeline that reads text takes the words "
        "as they are).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    e.add_argument("model", help="the saved model file")
    e.add_argument("data", help="the input: .csv / .npy table, image file or .npy image, or .txt text")
    e.add_argument("--model-class", help="module:Class to build a torch model whose state dict is MODEL")
    e.add_argument("--row", type=count(3, least=0), default=None, help="which row of a table to explain (default 0)")
    e.add_argument("--rows", help="explain several rows of a table, or with --grid images of a .npy stack (N, …): "
                   "e.g. 0:50 (0 … 49), 3,7,10:20 or all. Each gets a result and a report in --out (a directory; "
                   "default DATA's name + .harsanyi), and an index page lists the concepts that recur. Those already "
                   "there are kept, so an interrupted run goes on where it stopped")
    e.add_argument("--players", help="tabular: 'name=f1,f2;name2=f3' (features by name or index) or omit for one "
                   "player per feature; text: 'words' (default) or 'tokens'")
    e.add_argument("--grid", help="image: the grid of patches, 'ROWSxCOLS' (e.g. 4x4)")
    e.add_argument("--cells", help="image: the cells that are players, comma-separated indices or names such as "
                   "r1c2 (default: all)")
    e.add_argument("--select", help="text: the words (tokens with --players tokens) that are players, comma-separated "
                   "positions from 0 or words, 'content' (every word but stop words, punctuation, single letters and "
                   "numbers) or 'content:10' (ten of those at random, seed 0); the others stay in the text (default: "
                   "all)")
    e.add_argument("--layout", choices=("chw", "hwc"), default=None, help="image: how the model takes an image, "
                   "(C, H, W) or (H, W, C) (default: chw for a torch model, hwc otherwise); an image file is turned "
                   "into it, a .npy image must be stored in it")
    e.add_argument("--resize", help="image file: the size the model takes, ROWSxCOLS or one number for a square "
                   "(e.g. 224), cut about the centre to that aspect ratio first (default: as it is)")
    e.add_argument("--normalize", help="image file: the model's normalisation of pixels in [0, 1], 'imagenet' or "
                   "MEAN/STD per channel (e.g. 0.5,0.5,0.5/0.25,0.25,0.25; default: none)")
    e.add_argument("--tokenizer", help="text: a Hugging Face tokenizer directory or name (loaded offline)")
    e.add_argument("--baseline", default=None, help="zero, mean (tabular: of the data file; the most frequent "
                   "value of a text column), blur (image), a number, or a .npy file (default: mean for tables, zero "
                   "otherwise)")
    e.add_argument("--output", default="auto", help="auto, raw, logit, prob or log-odds (default auto)")
    e.add_argument("--target", type=_class, default=None, help="the class to explain, an index or a scikit-learn "
                   "classifier's label (default: the prediction)")
    e.add_argument("--device", default=None, help="torch device, e.g. cuda (default: the model's)")
    e.add_argument("--batch-size", type=count(256), default=None, help="masked inputs per model call (default: auto)")
    e.add_argument("--cache", default=None, help="a directory: an interrupted evaluation resumes from it, and "
                   "so does the AND-OR splitting (n > 15): run the command again for a tighter bound")
    e.add_argument("--qthres", type=float, default=0.02,
                   help="AND-OR noise bound τ as a fraction of |v(N)−v(∅)| (default 0.02)")
    e.add_argument("--time-limit", type=seconds, default=60.0, help="seconds for the AND-OR solver (default 60)")
    e.add_argument("--max-iter", type=count(50000), default=None,
                   help="AND-OR iterations in all, a resumed run's included "
                   "(default: as many as --time-limit allows)")
    e.add_argument("--out", default=None, help="the result file, or an existing directory to write it into (default: "
                   "DATA's name + .harsanyi.npz); with --rows, a directory (default: DATA's name + .harsanyi)")
    e.add_argument("--report", default=None, help="the HTML report, or an existing directory to write it into "
                   "(default: the result's name + .html)")
    e.set_defaults(func=run_explain)

    r = sub.add_parser("report", help="write the HTML report of saved results",
                       description="Write a self-contained HTML report for each saved result (RESULT.npz from "
                       "`harsanyi explain` or Explanation.save), and an index page when there are several.")
    r.add_argument("results", nargs="+", help="saved result files")
    r.add_argument("--out", default=None, help="the report (one result) or a directory (several; default: next to "
                   "each result)")
    r.set_defaults(func=run_report)


def _class(text: str):
    """--target: an index when it reads as one, else a class label."""
    try:
        return int(text)
    except ValueError:
        return text


def seconds(text: str) -> float:
    """--time-limit: a number of seconds > 0, checked before any model is run."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, e.g. 60; received {text!r}")
    return value


def count(example: int, least: int = 1):
    """An argparse type: a whole number ≥ ``least`` (--max-iter, --batch-size, …), refused with ``example``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = least - 1
        if value < least:
            what = "a positive whole number" if least == 1 else f"a whole number ≥ {least}"
            raise argparse.ArgumentTypeError(f"expected {what}, e.g. {example}; received {text!r}")
        return value

    return parse


def _fail(message: str):
    raise HarsanyiValueError(message)


def _said(err: BaseException) -> str:
    """An exception in one line: its type and the first line of its message (torch's can run to pages), with the
    second where the first only announces it ("Error(s) in loading state_dict for Net:")."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    said = " ".join(lines[:2]) if len(lines) > 1 and lines[0].endswith(":") else (lines[0] if lines else "")
    return f"{type(err).__name__}: {said.rstrip('.')}" if said else type(err).__name__


def check_writable(path: Path, flag: str, *, folder: bool = False, page: bool = False) -> None:
    """Refuse, before any work, a place the results could not be written to: a file where a folder is needed (or
    the reverse), or a folder that cannot be made or written into; with ``page`` (an HTML report), an existing file
    that is not a page (a report would overwrite the data)."""
    if path.exists() and path.is_dir() != folder:
        _fail(f"{flag} {str(path)!r} is a file; it names the folder for the results and reports." if folder
              else f"{flag} {str(path)!r} is a folder; give a file name.")
    if page and path.is_file() and path.suffix.lower() not in (".html", ".htm"):
        _fail(f"{flag} {str(path)!r} is a file that is not an HTML page, and the report would overwrite it. Give the "
              f"report a name of its own (e.g. {path.with_suffix('.html').name!r}).")
    blocker = file_in_the_way(path.parent)
    if blocker is not None:
        _fail(f"{flag} {str(path)!r} cannot be written: {str(blocker)!r} is a file, not a folder.")
    parent = next(p for p in (path.parent, *path.parent.parents) if p.exists())  # where the folders would be made
    if not os.access(parent, os.W_OK):
        _fail(f"{flag} {str(path)!r} cannot be written: no permission to write in {str(parent)!r}.")


def load_model(path: Path, model_class: str | None, device):
    if not path.exists():
        _fail(f"No model file {str(path)!r}. Pass the path of a saved model.")
    suffix = path.suffix.lower()
    if suffix in (".pkl", ".pickle", ".joblib"):
        try:
            if suffix == ".joblib":
                import joblib

                return joblib.load(path)
            with open(path, "rb") as fh:
                return pickle.load(fh)
        except (ImportError, AttributeError) as err:  # the code that defined the model is not importable here
            _fail(f"Cannot load the model in {str(path)!r}: {_said(err)}. Unpickling rebuilds the model from the code "
                  f"that defined it: install that package, or put its module on PYTHONPATH (a class defined in the "
                  f"script that saved it, its __main__, has to move into a module both can import).")
        except Exception as err:  # noqa: BLE001 - whatever unpickling a foreign or damaged file raises
            _fail(f"Cannot load the model in {str(path)!r}: {_said(err)}. Pass a scikit-learn estimator saved with "
                  f"pickle.dump (.pkl) or joblib.dump (.joblib).")
    if suffix in (".pt", ".pth", ".ts"):
        import torch

        from ._models import _torch_device

        device = None if device is None else _torch_device(device)  # a device this machine lacks: said plainly
        if model_class:
            module_name, _, class_name = model_class.partition(":")
            if not class_name:
                _fail(f"Expected --model-class as module:Class (e.g. mypackage.nets:Net); received {model_class!r}.")
            import importlib

            try:
                cls = getattr(importlib.import_module(module_name), class_name)
            except (ImportError, AttributeError) as err:
                _fail(f"Cannot import {model_class!r} ({err}). Make the module importable (PYTHONPATH) or fix the "
                      f"name.")
            try:
                model = cls()
            except Exception as err:  # noqa: BLE001 - the class's own error, said with the fix
                _fail(f"Cannot make {model_class!r} with no arguments ({_said(err)}). --model-class needs a class "
                      f"built as Class(); for one that takes arguments, add a subclass that passes them, e.g. "
                      f"class Net(Base): def __init__(self): super().__init__(30, 16).")
            try:
                state = torch.load(path, map_location=device or "cpu", weights_only=True)
            except Exception as err:  # noqa: BLE001 - not a file torch.save wrote
                _fail(f"Cannot read {str(path)!r} as a state dict ({_said(err)}). Save it with "
                      f"torch.save(model.state_dict(), path).")
            try:
                model.load_state_dict(state)
            except (RuntimeError, TypeError, AttributeError) as err:
                _fail(f"The state dict in {str(path)!r} does not fit {model_class!r}: {_said(err)}. Pass the class the "
                      f"weights were saved from, built with the same sizes.")
            return model.eval()
        try:
            return torch.jit.load(str(path), map_location=device or "cpu").eval()
        except RuntimeError as err:
            _fail(f"{str(path)!r} is not a TorchScript file ({str(err).splitlines()[0]}). For a state dict, pass "
                  f"--model-class module:Class; or save the model with torch.jit.save(torch.jit.script(model)).")
    _fail(f"Unknown model file type {suffix!r}: expected .pt/.pth (TorchScript or a state dict with --model-class) "
          f"or .pkl/.pickle/.joblib (a pickled scikit-learn estimator).")


def _table(path: Path, fitted=None, numbers_only: bool = True):
    """The rows of a .csv or .npy table and the CSV's column names. ``fitted``: the columns a scikit-learn
    estimator was fitted with; a CSV that has them all is read in that order, without its other columns. Without
    ``numbers_only`` (a model that takes categories, e.g. a pipeline that encodes them), a CSV with text columns
    gives rows of objects."""
    if path.suffix.lower() == ".csv":
        import pandas as pd

        try:
            frame = pd.read_csv(path, skipinitialspace=True)  # "a, b, c": the names and values without the space
            if frame.shape[1] == 1:  # a table saved with another separator (";" as spreadsheets often do, or tabs)
                other = next((sep for sep in (";", "\t", "|") if sep in str(frame.columns[0])), None)
                frame = pd.read_csv(path, sep=other, skipinitialspace=True) if other else frame
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as err:
            _fail(f"Cannot read {str(path)!r} as a CSV table ({_said(err)}). Pass comma-separated rows under a "
                  f"header line of column names.")
        if frame.shape[0] == 0:
            _fail(f"The CSV {str(path)!r} has a header but no rows: nothing to explain.")
        if fitted is not None:
            missing = [str(c) for c in fitted if c not in frame.columns]
            if missing:
                _fail(f"The model was fitted with columns the CSV lacks: {_listed(missing)}. Pass a CSV with the "
                      f"model's columns ({len(fitted)} of them, named as when it was fitted).")
            frame = frame[list(fitted)]
        numeric = frame.select_dtypes(include="number")
        names = [str(c) for c in frame.columns]
        if numeric.shape[1] == frame.shape[1]:
            return numeric.to_numpy(np.float64), names
        if numbers_only:
            bad = [c for c in frame.columns if c not in numeric.columns]
            _fail(f"The CSV has non-numeric columns {bad}, and a torch model takes numbers; encode them as numbers "
                  f"(the model's own input encoding).")
        return frame.to_numpy(object), names
    arr = _npy(path)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2:
        _fail(f"{str(path)!r} holds an array of shape {arr.shape}; a table is (rows, features). For an image (or, with "
              f"--rows, a stack of images) pass --grid ROWSxCOLS.")
    return arr.astype(np.float64), None


def _npy(path: Path) -> np.ndarray:
    """A .npy file of numbers, or a clear refusal."""
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        _fail(f"Cannot read {str(path)!r} as a .npy array ({_said(err)}). Save it with numpy.save, as numbers.")
    if not isinstance(arr, np.ndarray):  # an .npz archive under another name
        arr.close()
        _fail(f"{str(path)!r} is an .npz archive of several arrays; pass one array saved with numpy.save.")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        _fail(f"{str(path)!r} holds {arr.dtype} values, not numbers; the model's input must be numbers.")
    return arr


def _players(spec: str | None, names: list[str] | None):
    if not spec:
        return None
    players = {}
    for part in spec.split(";"):
        if "=" not in part:
            _fail(f"Expected --players as 'name=f1,f2;name2=f3'; the part {part!r} has no '='.")
        name, features = (side.strip() for side in part.split("=", 1))
        if not name:
            _fail(f"Expected --players as 'name=f1,f2;name2=f3'; the part {part!r} has no player name before '='.")
        if name in players:
            _fail(f"--players names the player {name!r} twice; give each group one name (or join its features).")
        listed = [f.strip() for f in features.split(",") if f.strip()]
        if not listed:
            _fail(f"--players: the player {name!r} has no features; list them after '=', e.g. {name}=f1,f2.")
        players[name] = [int(f) if f.lstrip("-").isdigit() else f for f in listed]
    return players


def _baseline(spec: str | None, default: str):
    if spec is None:
        return default
    if spec in ("zero", "mean", "blur"):
        return spec
    if spec.endswith(".npy"):
        try:
            return np.load(spec, allow_pickle=False)
        except (OSError, ValueError) as err:
            _fail(f"Cannot read the baseline file {spec!r} ({err}). Pass a .npy file saved with numpy.save: one value "
                  f"per feature (or player, or pixel of the image).")
    try:
        return float(spec)
    except ValueError:
        _fail(f"Expected --baseline zero, mean, blur, a number or a .npy file; received {spec!r}.")


_OPTIONS_FOR = {  # the options that shape one kind of input, and what that kind is, for the refusal below
    "--grid": ("grid", ("image",)), "--cells": ("cells", ("image",)), "--layout": ("layout", ("image",)),
    "--resize": ("resize", ("image",)), "--normalize": ("normalize", ("image",)),
    "--tokenizer": ("tokenizer", ("text",)), "--select": ("select", ("text",)),
    "--players": ("players", ("table", "text")), "--row": ("row", ("table",)),
}
_KINDS = {"table": "a table (.csv, or .npy without --grid)", "image": "an image (an image file, or .npy with --grid)",
          "text": "a text (.txt)"}


def _check_options(args, kind: str, data: Path) -> None:
    """Refuse the options of another kind of input, which would otherwise be ignored without a word (--grid on a
    CSV explains the table, not an image)."""
    for flag, (name, kinds) in _OPTIONS_FOR.items():
        if getattr(args, name, None) is not None and kind not in kinds:
            _fail(f"{flag} applies to {' or '.join(kinds)} inputs, but {str(data)!r} is read as {_KINDS[kind]}. "
                  f"Leave {flag} out, or pass that kind of input.")


def build_game(args):
    from . import Game

    data = Path(args.data)
    if not data.exists():
        _fail(f"No data file {str(data)!r}. Pass the input to explain.")
    suffix = data.suffix.lower()
    if suffix == ".txt":
        _check_options(args, "text", data)
    elif suffix in IMAGE_SUFFIXES or (suffix == ".npy" and args.grid):
        _check_options(args, "image", data)
    elif suffix in (".csv", ".npy"):  # (another suffix is refused below)
        _check_options(args, "table", data)
    model = load_model(Path(args.model), args.model_class, args.device)
    common = dict(output=args.output, target=args.target, device=args.device)
    if suffix == ".txt":
        content = args.select and args.select.strip().startswith("content")
        common.update(players=args.players or "words",
                      select=args.select.strip() if content else _items(args.select))
        if not args.tokenizer:
            if _is_torch_module(model):
                _fail("A text input for a torch model needs --tokenizer (a Hugging Face tokenizer directory).")
            return Game.text(model, text=data.read_text().strip(), **common)
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
        except (OSError, ValueError) as err:
            _fail(f"Cannot load the tokenizer {args.tokenizer!r} ({_said(err)}). Pass a directory saved with "
                  f"tokenizer.save_pretrained(...), or the name of one already in the Hugging Face cache (it is "
                  f"loaded offline).")
        return Game.text(model, text=data.read_text().strip(), tokenizer=tokenizer, **common)
    if suffix in IMAGE_SUFFIXES or (suffix == ".npy" and args.grid):
        if not args.grid:
            _fail("An image needs --grid ROWSxCOLS (e.g. --grid 4x4).")
        if suffix in IMAGE_SUFFIXES:
            image = _image_file(data, args.resize, args.normalize)
            image = image.transpose(2, 0, 1).copy() if _layout(args, model) == "chw" else image
        else:
            image = _npy_images(args, data)
        return _image_game(args, model, image)
    if suffix not in (".csv", ".npy"):
        _fail(f"Unknown data file type {suffix!r}: expected .csv or .npy (a table), an image file, a .npy image with "
              f"--grid, or .txt (text, with --tokenizer).")
    X, names = _table(data, getattr(model, "feature_names_in_", None), numbers_only=_is_torch_module(model))
    row = 0 if args.row is None else args.row
    if not 0 <= row < len(X):
        _fail(f"--row {row} is out of range: {str(data)!r} has rows 0 … {len(X) - 1}.")
    return _row_game(args, model, X, names, row)


def _row_game(args, model, X, names, row: int):
    """The game of one row of a table; the mean baseline is the whole table's."""
    from . import Game

    baseline = _baseline(args.baseline, "mean")
    return Game.tabular(model, X[row], feature_names=names, players=_players(args.players, names),
                        baseline=baseline, background=X if isinstance(baseline, str) and baseline == "mean" else None,
                        output=args.output, target=args.target, device=args.device)


def _layout(args, model) -> str:
    return args.layout or ("chw" if _is_torch_module(model) else "hwc")


def _npy_images(args, data: Path) -> np.ndarray:
    """A .npy image (or, with --rows, a stack of them along the first axis), stored as the model takes it."""
    if args.resize or args.normalize:
        _fail("--resize and --normalize apply to image files; store a .npy image as the model takes it.")
    return _npy(data).astype(np.float32)


def _image_game(args, model, image: np.ndarray):
    """The game of one image, as the model takes it, over the --grid (and --cells) of patches."""
    from . import Game

    try:
        rows, cols = (int(v) for v in args.grid.lower().split("x"))
    except ValueError:
        _fail(f"Expected --grid as ROWSxCOLS, e.g. 4x4; received {args.grid!r}.")
    channel_axis = None if image.ndim == 2 else 0 if _layout(args, model) == "chw" else -1  # (H, W): no channel axis
    return Game.image(model, image, grid=(rows, cols), cells=_items(args.cells),
                      baseline=_baseline(args.baseline, "zero"), channel_axis=channel_axis, output=args.output,
                      target=args.target, device=args.device)


def _items(text: str | None) -> list | None:
    """--cells / --select: comma-separated positions, or names as results give them ("r1c2", a word); None when the
    flag is not given. The game refuses what is neither, naming what it holds."""
    if not text:
        return None
    return [int(part) if part.strip().isdigit() else part.strip() for part in text.split(",")]


def _image_file(path: Path, resize: str | None, normalize: str | None) -> np.ndarray:
    """An image file as float32 (H, W, 3): RGB in [0, 1], resized (cut about the centre to the new aspect ratio
    first) and normalised as asked."""
    from PIL import Image

    from .zoo import IMAGENET_MEAN, IMAGENET_STD, fit_image

    try:
        with Image.open(path) as opened:
            pixels = np.asarray(opened.convert("RGB"))
    except OSError as err:  # PIL's UnidentifiedImageError included
        _fail(f"Cannot read {str(path)!r} as an image ({_said(err)}). Pass a PNG, JPEG or other file Pillow reads, "
              f"or a .npy array as the model takes it.")
    if resize:
        try:
            rows, cols = (int(v) for v in (resize.lower().split("x") if "x" in resize.lower() else (resize, resize)))
            if rows < 1 or cols < 1:
                raise ValueError
        except ValueError:
            _fail(f"Expected --resize as ROWSxCOLS or one number of pixels, e.g. 224 or 224x224; received {resize!r}.")
        image = fit_image(pixels, rows, cols)
    else:
        image = pixels / 255.0
    if normalize:
        if normalize.lower() == "imagenet":
            mean, std = IMAGENET_MEAN, IMAGENET_STD
        else:
            try:
                mean, std = (np.array([float(v) for v in part.split(",")]) for part in normalize.split("/"))
                if mean.size not in (1, 3) or std.size not in (1, 3) or not (std > 0).all():
                    raise ValueError
            except ValueError:
                _fail(f"Expected --normalize as 'imagenet' or MEAN/STD with 1 or 3 values each and STD > 0, e.g. "
                      f"0.5,0.5,0.5/0.25,0.25,0.25; received {normalize!r}.")
        image = (image - mean) / std
    return image.astype(np.float32)


def _prediction(info: dict) -> str:
    """The model's output on the whole input as the game reads it, e.g. ``2.31 (log-odds, class 1)``."""
    target = info.get("target")
    return f"{info.get('prediction'):.6g} ({info.get('output')}{'' if target is None else f', class {target}'})"


def _fewer_players(game) -> str:
    """How to give a game of this kind fewer players, in the command's own flags."""
    kind = game.info.get("kind")
    if kind == "image":
        return "a coarser --grid, or only some cells as players with --cells (the others keep their pixels)"
    if kind == "text":
        return ("only some words as players with --select (positions, printed above, or words, or 'content:10'; "
                "the others stay in the text)")
    return "group features into players with --players 'name=f1,f2;name2=f3' (features by name or index)"


def _explain(game, args, cache, progress: bool):
    """explain() with the command's flags; a game too large to evaluate exactly is refused in those flags' terms."""
    from . import explain
    from ._values import MAX_PLAYERS

    n = game.n_players
    if n > MAX_PLAYERS:
        _fail(f"{n} players are too many for an exact explanation (all 2^{n} masked inputs; at most {MAX_PLAYERS}). "
              f"Fix: {_fewer_players(game)}.")
    try:
        return explain(game, batch_size=args.batch_size, cache=cache, qthres=args.qthres,
                       time_limit=args.time_limit, max_iter=args.max_iter, progress=progress)
    except MemoryBudgetError as err:
        fix = f"--batch-size {err.batch_size} (or less), or " if err.batch_size else ""
        raise MemoryBudgetError(f"{err.need} Fix: {fix}{_fewer_players(game)}.", err.batch_size, err.need) from None


def run_explain(args) -> int:
    from .report import write_report

    if args.rows:
        return run_explain_rows(args)
    game = build_game(args)
    n = game.n_players
    print(f"{game.info.get('kind', 'game')} game, {n} players: {', '.join(map(str, game.player_names or []))}")
    if game.info.get("kind") == "text":  # the positions --select takes, for a second run on fewer words
        words = game.info.get("words", [])
        print(f"the text's {len(words)} words by position (for --select):",
              " ".join(f"{i}:{w}" for i, w in enumerate(words)))
    print(f"prediction: {_prediction(game.info)}")
    default = Path(args.data).with_suffix(".harsanyi.npz")
    out = Path(args.out) if args.out else default
    out = (out / default.name if out.is_dir() else out).with_suffix(".npz")  # a folder: the result goes into it
    report = Path(args.report) if args.report else out.with_suffix(".html")
    report = report / out.with_suffix(".html").name if report.is_dir() else report
    check_writable(out, "--out")
    check_writable(report, "--report", page=True)
    explanation = _explain(game, args, cache=args.cache, progress=True)
    result = explanation.save(out)
    report = write_report(explanation, report)
    names = explanation.player_names
    top = np.argsort(-np.abs(explanation.shapley))[:_SHOWN]
    print(f"Shapley values (the {len(top)} largest of {n}):", *(f"  {explanation.shapley[j]:+9.4f}  {names[j]}"
                                                              for j in top), sep="\n")
    print("largest AND-OR concepts:", *explanation.concepts(limit=_SHOWN), sep="\n  ")
    if explanation.kind == "text" and n >= 2:
        print(f"interaction tree of the words: {explanation.interaction_tree().root.bracketed()}")
    print(explanation.certificate_sentence())
    for caveat in explanation.caveats():
        print(f"caveat: {caveat}")
    print(explanation.solver_sentence())
    print(f"result: {result}\nreport: {report}")
    return 0 if explanation.andor_certificate.passed else 1


def run_explain_rows(args) -> int:
    """``harsanyi explain --rows``: the model loaded once, each row of a table (or image of a .npy stack, with
    --grid) explained and saved (result, then report) in the --out folder, those already there kept; an index page
    and the concepts that recur, per class."""
    from ._explanation import Explanation
    from ._recurrence import concept_statistics
    from .report import write_index, write_report

    data = Path(args.data)
    if args.row is not None or args.report:
        _fail("--rows writes one result and one report per row into the --out folder; leave out --row and --report.")
    if not data.exists():
        _fail(f"No data file {str(data)!r}. Pass the table (or .npy stack of images) whose rows to explain.")
    suffix = data.suffix.lower()
    if suffix not in (".csv", ".npy") or (args.grid and suffix != ".npy"):
        _fail(f"--rows takes the rows of a table (.csv or .npy), or with --grid the images of a .npy stack (N, …); "
              f"received {str(data)!r}. For several image files or texts, run `harsanyi explain` on each and "
              f"`harsanyi report` on their results (an index page of the concepts that recur).")
    _check_options(args, "image" if args.grid else "table", data)
    model = load_model(Path(args.model), args.model_class, args.device)
    if args.grid:  # a stack of images along the first axis, each stored as the model takes it
        X, unit = _npy_images(args, data), "image"

        def game_of(row):
            return _image_game(args, model, X[row])
    else:
        X, names = _table(data, getattr(model, "feature_names_in_", None), numbers_only=_is_torch_module(model))
        unit = "row"

        def game_of(row):
            return _row_game(args, model, X, names, row)
    rows = _row_list(args.rows, len(X), data, unit)
    folder = Path(args.out) if args.out else data.with_suffix(".harsanyi")
    check_writable(folder, "--out", folder=True)
    settings = _run_settings(args)
    done = {}
    for row in rows:  # the results of an earlier run with the same settings are kept; another run's are refused
        result = folder / f"{unit}{row}.npz"
        if result.exists():
            done[row] = Explanation.load(result)
            _same_run(done[row], settings, result)
            if not result.with_suffix(".html").exists():
                write_report(done[row], result.with_suffix(".html"), title=f"{data.name}, {unit} {row}")
    todo = [row for row in rows if row not in done]
    print(f"{len(rows)} {unit}s of {data.name}: {len(done)} already explained in {folder}, {len(todo)} to go")
    bar = progress_bar(todo, desc=f"explaining {unit}s", unit=unit, disable=len(todo) < 2)
    try:
        for row in bar:
            game = game_of(row)
            cache = Path(args.cache) / f"{unit}{row}" if args.cache else None
            explanation = _explain(game, args, cache=cache, progress=False)
            explanation.extra.update(run=settings, row=row)
            result = folder / f"{unit}{row}.npz"  # the report first: a row counts as done once its result is there
            write_report(explanation, result.with_suffix(".html"), title=f"{data.name}, {unit} {row}")
            explanation.save(result)
            done[row] = explanation
            passed = "passed" if explanation.andor_certificate.passed else "FAILED"
            bar.write(f"{unit} {row}: {_prediction(game.info)}, {len(explanation.salient())} salient AND-OR concepts "
                      f"of {game.n_players} players, certificate {passed}")
    except KeyboardInterrupt:
        print(f"\nharsanyi explain: interrupted; {len(done)} of {len(rows)} {unit}s are done in {folder}. Run the same "
              f"command again to go on.", file=sys.stderr)
        return 130
    except HarsanyiError as err:  # said of its row, with what is kept
        _fail(f"{unit} {row}: {err} ({len(done)} of {len(rows)} {unit}s are done in {folder} and kept; leave {unit} "
              f"{row} out of --rows, or fix it, and run again to go on.)")
    explained = [done[row] for row in rows]
    index = write_index({folder / f"{unit}{row}.html": ex for row, ex in zip(rows, explained)}, folder / "index.html",
                        title=f"harsanyi: {len(rows)} {unit}s of {data.name}")
    by_class: dict = {}
    for ex in explained:
        by_class.setdefault(ex.info.get("target"), []).append(ex)
    for target, group in by_class.items():
        if len(group) >= 2:
            which = "the output" if target is None else f"class {target}"
            print(f"concepts salient on the most {unit}s ({which}, {len(group)} {unit}s):",
                  *concept_statistics(group).top(_SHOWN), sep="\n  ")
    failed = [row for row, ex in zip(rows, explained) if not ex.andor_certificate.passed]
    if failed:
        print(f"the AND-OR certificate FAILED on {unit}s {_listed(failed)}; see their reports")
    caveated = [row for row, ex in zip(rows, explained) if ex.caveats()]
    if caveated:
        print(f"{len(caveated)} of the {len(rows)} {unit}s have caveats (what the certificates cannot see), "
              f"{unit}s {_listed(caveated)}; see their reports or the index")
    print(f"{len(rows)} results and reports in {folder}; index: {index}")
    return 1 if failed else 0


def _row_list(spec: str, count: int, data: Path, unit: str) -> list[int]:
    """--rows: 'all', or rows and START:STOP ranges (STOP left out; either end may be omitted) joined by commas;
    in the order given, each row once."""
    if spec.strip().lower() == "all":
        return list(range(count))
    rows: list[int] = []
    for part in spec.split(","):
        try:
            if ":" in part:
                start, stop = (int(end) if end.strip() else default for end, default in
                               zip(part.split(":"), (0, count), strict=True))
                if not 0 <= start < stop <= count:
                    raise IndexError(part)
                rows.extend(range(start, stop))
            else:
                rows.append(int(part))
                if not 0 <= rows[-1] < count:
                    raise IndexError(part)
        except ValueError:
            _fail(f"Expected --rows as 'all', or rows and START:STOP ranges joined by commas (e.g. 0:50 or "
                  f"3,7,10:20); received {spec!r}.")
        except IndexError:
            _fail(f"--rows {part.strip()!r} is out of range: {str(data)!r} has {unit}s 0 … {count - 1} (a range "
                  f"START:STOP stops before STOP).")
    return list(dict.fromkeys(rows))


def _run_settings(args) -> dict:
    """What the results of ``--rows`` depend on, saved with each: the contents of the model, data and baseline
    files, and the options that change the game or its concepts (not the device, batches or solver limits)."""
    files = {"model": args.model, "data": args.data}
    if args.baseline and args.baseline.endswith(".npy"):
        files["baseline file"] = args.baseline
    settings = {}
    for what, name in files.items():
        with open(name, "rb") as fh:
            settings[f"{what} sha256"] = hashlib.file_digest(fh, "sha256").hexdigest()
    settings.update({"--model-class": args.model_class, "--players": args.players, "--baseline": args.baseline,
                     "--output": args.output, "--target": args.target, "--qthres": args.qthres, "--grid": args.grid,
                     "--cells": args.cells, "--layout": args.layout})
    return settings


def _same_run(explanation, settings: dict, result: Path) -> None:
    saved = explanation.extra.get("run")
    if saved == settings:
        return
    if not isinstance(saved, dict):
        why = "it was not written by `harsanyi explain --rows`"
    else:
        differ = [k for k in settings if saved.get(k) != settings[k]]
        why = f"its {', '.join(differ)} {'differs' if len(differ) == 1 else 'differ'} from this run's"
    _fail(f"{str(result)!r} is the result of another run: {why}. Pass another --out, or remove the folder to "
          f"explain the rows afresh.")


def run_report(args) -> int:
    from ._explanation import Explanation
    from .report import write_index, write_report

    results = list(dict.fromkeys(Path(r) for r in args.results))  # each file once
    missing = [str(r) for r in results if not r.exists()]
    if missing:
        _fail(f"No result file(s) {missing}. Pass files written by `harsanyi explain` or Explanation.save().")
    explanations = {r: Explanation.load(r) for r in results}
    if len(results) == 1:
        target = Path(args.out) if args.out else results[0].with_suffix(".html")
        target = target / results[0].with_suffix(".html").name if target.is_dir() else target
        check_writable(target, "--out", page=True)
        print(f"report: {write_report(explanations[results[0]], target)}")
        return 0
    folder = Path(args.out) if args.out else None
    if folder is not None:
        if folder.suffix.lower() in (".html", ".htm") and not folder.is_dir():
            _fail(f"--out {str(folder)!r} names one page, but {len(results)} results make {len(results)} reports "
                  f"and an index: pass a folder for them (e.g. --out reports).")
        check_writable(folder, "--out", folder=True)
    written = {}
    for result, explanation in explanations.items():
        target = (folder / f"{result.stem}.html") if folder else result.with_suffix(".html")
        written[write_report(explanation, target)] = explanation
    index = write_index(written, (folder or results[0].parent) / "index.html")
    print(f"{len(written)} reports; index: {index}")
    return 0
