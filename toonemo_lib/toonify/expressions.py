"""Expression directions in a StyleGAN2's W space, found with the emotion recogniser, and the
personal emoji set they make: one photo -> your toon in seven expressions.

InterFaceGAN's recipe (Shen et al. 2020), with the course's recogniser as the labeller:

1. sample latents, synthesise faces and let the recogniser score each one
   (`sample_expressions`);
2. per expression, a linear classifier in W separates the faces it scores highest from
   those it scores lowest; the classifier's unit normal is the expression's direction
   (`fit_direction`).  *Conditional* directions subtract the components along other
   attributes (the other expressions, and the face's brightness, which a recogniser
   trained on grey photos readily confuses with an expression: `condition_on`);
3. a latent moves along a direction on the rows of W+ where expression lives
   (`edit_expression`); those rows are measured, not assumed (`layer_effects`).

Strengths are counted in standard deviations of the sampled latents along each direction,
so "strength 2" means the same on the course's 32x32 face model and on FFHQ.

`ExpressionDirections` holds the result and is saved beside its generator
(``<model>.expressions.npz``; the shipped face model's is in ``data/models/``).
`personal_emoji_set` aligns a photo, projects it, edits the latent toward each
expression, draws it with the toon model and cuts out seven RGBA emoji.

It lives on the package's top floor because it joins StyleGAN2, the emotion recogniser,
Toonify and the emoji cut-out, which do not import each other.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import EMOTIONS, ToonifySettings
from ..unreadable import read_cached, read_or_report

DIRECTIONS_SUFFIX = ".expressions.npz"
# Where eyes and mouth sit in a FER2013-framed face (the shipped generators' framing), as
# (x0, y0, x1, y1) fractions of the side: identity is measured on the pixels outside them.
EXPRESSION_BOXES = ((0.12, 0.28, 0.88, 0.55), (0.22, 0.62, 0.78, 0.92))


def expression_index(expression) -> int:
    """The index of `expression` in `EMOTIONS` (a name, any case, or an index 0..6)."""
    if isinstance(expression, (int, np.integer)) and 0 <= int(expression) < len(EMOTIONS):
        return int(expression)
    names = {name.lower(): i for i, name in enumerate(EMOTIONS)}
    key = str(expression).strip().lower()
    if key not in names:
        raise ValueError(f"unknown expression {expression!r}: choose one of {', '.join(EMOTIONS)}")
    return names[key]


def generator_fingerprint(G) -> str:
    """A short hash of every weight of G: directions belong to exactly one generator."""
    digest = hashlib.sha256()
    for name, var in sorted(G.tf1_variables().items()):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(var.numpy()).tobytes())
    return digest.hexdigest()[:16]


def resolution_blocks(num_ws: int) -> list[tuple[str, int, int]]:
    """(name, first row, stop row) of W+ per synthesis resolution: 4x4 rows 0-1, 8x8 rows 2-3, ..."""
    return [(f"{2 ** (2 + i)}x{2 ** (2 + i)}", 2 * i, min(2 * i + 2, num_ws)) for i in range((num_ws + 1) // 2)]


# ---------------------------------------------------------------------------- labelling


def render(G, w_plus, batch_size: int | None = None) -> np.ndarray:
    """uint8 images of G for (N, num_ws, w_dim) latents, with G's constant noise, `batch_size` per call
    (default: `stylegan2.generate.images_per_batch` of G's resolution)."""
    from ..stylegan2.generate import generator_to_uint8, images_per_batch

    w_plus = np.asarray(w_plus, np.float32)
    batch_size = batch_size or images_per_batch(G.resolution)
    return np.concatenate([generator_to_uint8(np.asarray(G.synthesis(w_plus[i:i + batch_size], noise_mode="const")))
                           for i in range(0, len(w_plus), batch_size)])


def classify_generated(images, recognizer, framing: str = "fer") -> np.ndarray:
    """(N, 7) expression probabilities of generated faces.

    framing "fer": the images are framed as FER2013's faces (the shipped generators), so
    each image is the crop; "detect": find the largest face first (FFHQ-framed images),
    falling back to the whole image where none is found.
    """
    images = np.asarray(images)
    if framing == "fer":
        return recognizer.classify(images)
    if framing != "detect":
        raise ValueError(f"framing must be 'fer' or 'detect', got {framing!r}")
    crops = []
    for image in images:
        faces = recognizer.detect(image)
        if faces:
            x, y, w, h = recognizer.classifier_box(faces[0], image.shape)
            crop = image[max(y, 0):y + h, max(x, 0):x + w]
            crops.append(crop if crop.size else image)
        else:
            crops.append(image)
    return recognizer.classify(crops)


def brightness(images) -> np.ndarray:
    """Mean grey level of each image, 0..1."""
    images = np.asarray(images, np.float64)
    return images.reshape(len(images), -1).mean(axis=1) / 255.0


@dataclass
class ExpressionSamples:
    """Latents (one w each), the recogniser's probabilities of their faces, and their brightness."""

    w: np.ndarray            # (N, w_dim)
    probs: np.ndarray        # (N, 7), EMOTIONS order
    brightness: np.ndarray   # (N,)


def sample_expressions(G, n: int, recognizer, *, seed: int = 0, truncation_psi: float = 1.0, framing: str = "fer",
                       batch_size: int = 100, progress: bool = True) -> ExpressionSamples:
    """Synthesise `n` faces from the seeds ``seed..seed+n-1`` and score each one."""
    from tqdm.auto import tqdm

    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    ws, probs, light = [], [], []
    for start in tqdm(range(0, n, batch_size), desc="labelling faces", disable=not progress, leave=False):
        w_plus = mapped_latents(G, range(seed + start, seed + min(start + batch_size, n)), truncation_psi)
        images = render(G, w_plus)
        ws.append(w_plus[:, 0])
        probs.append(classify_generated(images, recognizer, framing))
        light.append(brightness(images))
    return ExpressionSamples(np.concatenate(ws), np.concatenate(probs), np.concatenate(light))


# ---------------------------------------------------------------------------- fitting


def fit_direction(w, score, fraction: float = 0.2, l2: float = 1e-2) -> tuple[np.ndarray, float]:
    """InterFaceGAN's boundary: (unit normal in W, training accuracy).

    A logistic regression (L2-regularised, on standardised coordinates, fitted by L-BFGS)
    separates the `fraction` of samples with the highest `score` from the `fraction`
    with the lowest; its normal, taken back to W's coordinates, points toward high scores.
    """
    from scipy.optimize import minimize

    w, score = np.asarray(w, np.float64), np.asarray(score, np.float64)
    if not 0 < fraction <= 0.5:
        raise ValueError(f"fraction must be in (0, 0.5], got {fraction}")
    low, high = np.quantile(score, [fraction, 1 - fraction])
    chosen = (score <= low) | (score >= high)
    y = (score[chosen] >= high).astype(np.float64)
    if y.min() == y.max():
        raise ValueError("the scores do not vary: no boundary can be fitted (too few samples?)")
    mean, std = w[chosen].mean(axis=0), w[chosen].std(axis=0) + 1e-8
    x = np.hstack([(w[chosen] - mean) / std, np.ones((len(y), 1))])

    def loss_and_gradient(theta):
        logits = x @ theta
        loss = np.mean(np.logaddexp(0, logits) - y * logits) + 0.5 * l2 * theta[:-1] @ theta[:-1]
        gradient = x.T @ (1 / (1 + np.exp(-logits)) - y) / len(y) + np.r_[l2 * theta[:-1], 0]
        return loss, gradient

    theta = minimize(loss_and_gradient, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B").x
    normal = theta[:-1] / std  # the boundary's normal in W (undoing the standardisation)
    accuracy = float(np.mean((x @ theta > 0) == y))
    return normal / np.linalg.norm(normal), accuracy


def condition_on(direction, others) -> np.ndarray:
    """InterFaceGAN's conditional direction: `direction` minus its projection onto the span of
    `others` (rows), normalised, so moving along it leaves those attributes' scores alone."""
    direction = np.asarray(direction, np.float64)
    others = np.atleast_2d(np.asarray(others, np.float64))
    if len(others) == 0:
        return direction / np.linalg.norm(direction)
    basis, _ = np.linalg.qr(others.T)  # orthonormal columns spanning the others
    rest = direction - basis @ (basis.T @ direction)
    norm = np.linalg.norm(rest)
    if norm < 1e-6:
        raise ValueError("the direction lies in the span of the attributes it is conditioned on")
    return rest / norm


def _logit(p) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), 1e-6, 1 - 1e-6)
    return np.log(p) - np.log1p(-p)


@dataclass
class ExpressionDirections:
    """One unit direction in W per expression (`EMOTIONS` order) and how to use them.

    scales: the sampled latents' standard deviation along each direction (strength 1 = one of
    them); layers: the W+ rows [start, stop) edited by default; fit_accuracy: each
    boundary's accuracy on the samples it separated; info: how they were made.
    """

    directions: np.ndarray
    scales: np.ndarray
    layers: tuple[int, int]
    fit_accuracy: np.ndarray
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        self.directions = np.asarray(self.directions, np.float64)
        self.scales = np.asarray(self.scales, np.float64)
        self.fit_accuracy = np.asarray(self.fit_accuracy, np.float64)
        self.layers = (int(self.layers[0]), int(self.layers[1]))
        if self.directions.shape[0] != len(EMOTIONS) or self.scales.shape != (len(EMOTIONS),):
            raise ValueError(f"expected {len(EMOTIONS)} directions and scales, got {self.directions.shape} "
                             f"and {self.scales.shape}")

    @property
    def w_dim(self) -> int:
        return self.directions.shape[1]

    def table(self) -> pd.DataFrame:
        """Per expression: the fit accuracy, the scale, and the cosine with every other direction."""
        cosines = pd.DataFrame(self.directions @ self.directions.T, index=list(EMOTIONS), columns=list(EMOTIONS))
        head = pd.DataFrame({"fit_accuracy": self.fit_accuracy, "scale": self.scales}, index=list(EMOTIONS))
        return pd.concat([head, cosines.add_prefix("cos ")], axis=1)

    def save(self, path) -> Path:
        import json

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial.npz")
        np.savez(partial, directions=self.directions, scales=self.scales, layers=np.array(self.layers),
                 fit_accuracy=self.fit_accuracy, expressions=np.array(EMOTIONS),
                 info=np.array(json.dumps(self.info)))
        partial.replace(path)
        return path

    @classmethod
    def load(cls, path) -> "ExpressionDirections":
        import json
        import zipfile

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no expression directions at {path}: fit them with "
                                    "toonemo_lib.toonify.expressions.fit_expression_directions (or load_or_fit_directions)")
        if not zipfile.is_zipfile(path):
            raise ValueError(f"{path} is not an expression-directions file (an .npz written by ExpressionDirections.save)")

        def read(path):
            with np.load(path, allow_pickle=False) as data:
                missing = {"directions", "scales", "layers", "fit_accuracy", "expressions", "info"} - set(data.files)
                if missing:
                    raise ValueError(f"{path} lacks {', '.join(sorted(missing))}: not an expression-directions file")
                if tuple(data["expressions"]) != EMOTIONS:
                    raise ValueError(f"{path} has directions for {tuple(data['expressions'])}, not {EMOTIONS}")
                return cls(data["directions"], data["scales"], tuple(data["layers"]), data["fit_accuracy"],
                           json.loads(str(data["info"])))

        # a damaged entry fails deep in zipfile or numpy (BadZipFile, EOFError): name the file
        return read_or_report(path, read, "expression-directions file")


def fit_directions(samples: ExpressionSamples, *, fraction: float = 0.2,
                   conditional: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(directions (7, w_dim), scales (7,), fit accuracies (7,)) from labelled samples.

    Each expression is scored by the logit of its probability; brightness is always
    conditioned out; `conditional` also removes the other expressions.
    """
    raw, accuracy = [], []
    for k in range(len(EMOTIONS)):
        normal, acc = fit_direction(samples.w, _logit(samples.probs[:, k]), fraction)
        raw.append(normal)
        accuracy.append(acc)
    light = fit_direction(samples.w, samples.brightness, fraction)[0]
    directions = np.array([condition_on(normal, [light] + ([d for j, d in enumerate(raw) if j != k] if conditional else []))
                           for k, normal in enumerate(raw)])
    scales = (samples.w @ directions.T).std(axis=0)
    return directions, scales, np.array(accuracy)


# ---------------------------------------------------------------------------- editing


def edit_expression(w_plus, expression, strength: float, directions: ExpressionDirections, layers=None) -> np.ndarray:
    """`w_plus` ((num_ws, w_dim) or (N, num_ws, w_dim)) moved `strength` standard deviations along
    `expression`'s direction on the W+ rows `layers` ([start, stop); default: the directions')."""
    w_plus = np.array(w_plus, np.float32)  # a copy: the caller's latent is never changed
    if w_plus.ndim not in (2, 3) or w_plus.shape[-1] != directions.w_dim:
        raise ValueError(f"w_plus must be (num_ws, {directions.w_dim}) or (N, num_ws, {directions.w_dim}), "
                         f"got {w_plus.shape}")
    start, stop = directions.layers if layers is None else (int(layers[0]), int(layers[1]))
    num_ws = w_plus.shape[-2]
    if not 0 <= start < stop <= num_ws:
        raise ValueError(f"layers must be 0 <= start < stop <= {num_ws}, got ({start}, {stop})")
    k = expression_index(expression)
    if strength:
        step = float(strength) * directions.scales[k] * directions.directions[k]
        w_plus[..., start:stop, :] += step.astype(np.float32)
    return w_plus


def mapped_latents(G, seeds, truncation_psi: float = 1.0) -> np.ndarray:
    """(N, num_ws, w_dim) W+ latents of G for integer seeds."""
    from ..stylegan2.generate import z_from_seeds

    return np.asarray(G.mapping(z_from_seeds(list(seeds), G.latent_size), truncation_psi=truncation_psi))


def layer_effects(G, directions: ExpressionDirections, recognizer, w_plus, strength: float = 2.0,
                  framing: str = "fer") -> pd.DataFrame:
    """How much editing only one resolution's W+ rows raises each expression's probability.

    Rows: expressions; columns: the resolutions (4x4, 8x8, ...) and "all rows"; values: the
    mean rise of the intended expression's probability over the faces of `w_plus`.
    """
    before = classify_generated(render(G, w_plus), recognizer, framing)
    blocks = resolution_blocks(G.num_ws) + [("all rows", 0, G.num_ws)]
    table = {}
    for name, start, stop in blocks:
        column = []
        for k in range(len(EMOTIONS)):
            edited = edit_expression(w_plus, k, strength, directions, (start, stop))
            after = classify_generated(render(G, edited), recognizer, framing)
            column.append(float(np.mean(after[:, k] - before[:, k])))
        table[name] = column
    return pd.DataFrame(table, index=list(EMOTIONS))


def choose_layers(effects: pd.DataFrame, share: float = 0.8, num_ws: int | None = None) -> tuple[int, int]:
    """The shortest run of resolutions whose summed effect (mean over expressions) reaches `share`
    of all resolutions' summed effect, as W+ rows [start, stop)."""
    per_block = effects.drop(columns="all rows", errors="ignore").clip(lower=0).mean(axis=0)
    names = list(per_block.index)
    num_ws = num_ws or 2 * len(names)
    total = float(per_block.sum())
    if total <= 0:
        return 0, num_ws  # no block helps on its own: edit every row
    best = (0, len(names))
    for first in range(len(names)):
        for last in range(first, len(names)):
            if per_block.iloc[first:last + 1].sum() >= share * total and last - first < best[1] - best[0]:
                best = (first, last + 1)
    return 2 * best[0], min(2 * best[1], num_ws)


def fit_expression_directions(G, recognizer=None, *, samples: int = 4000, seed: int = 0, truncation_psi: float = 1.0,
                              fraction: float = 0.2, conditional: bool = False, layers=None,
                              layer_samples: int = 100, layer_strength: float = 2.0, framing: str = "fer",
                              progress: bool = True) -> ExpressionDirections:
    """Label `samples` faces of G with `recognizer`, fit a direction per expression, and choose the
    W+ rows to edit on `layer_samples` other latents (unless `layers` is given)."""
    from ..emotion.recognize import EmotionRecognizer

    recognizer = recognizer or EmotionRecognizer()
    labelled = sample_expressions(G, samples, recognizer, seed=seed, truncation_psi=truncation_psi,
                                  framing=framing, progress=progress)
    directions, scales, accuracy = fit_directions(labelled, fraction=fraction, conditional=conditional)
    info = dict(samples=int(samples), seed=int(seed), truncation_psi=float(truncation_psi), fraction=float(fraction),
                conditional=bool(conditional), nuisances=["brightness"], recognizer=Path(recognizer.model_path).name,
                framing=framing, generator=generator_fingerprint(G), resolution=int(G.resolution))
    result = ExpressionDirections(directions, scales, (0, G.num_ws), accuracy, info)
    if layers is None:
        held_out = mapped_latents(G, range(seed + samples, seed + samples + layer_samples), truncation_psi)
        effects = layer_effects(G, result, recognizer, held_out, layer_strength, framing)
        layers = choose_layers(effects, num_ws=G.num_ws)
        result.info["layer_effects"] = effects.round(4).to_dict()
    result.layers = (int(layers[0]), int(layers[1]))
    return result


def directions_path(model_path) -> Path:
    """Where a model file's expression directions live: beside it, ``<stem>.expressions.npz``."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + DIRECTIONS_SUFFIX)


def kept_directions(G, path) -> ExpressionDirections | None:
    """The directions saved at `path` when they belong to G (the same weights), else None.

    An unreadable file there counts as none: it is deleted with an `UnreadableFileWarning`
    naming it, and fitted again by the caller.
    """
    found = read_cached(path, ExpressionDirections.load, "expression-directions file")
    if found is not None and found.info.get("generator") == generator_fingerprint(G):
        return found
    return None


def load_or_fit_directions(G, path, recognizer=None, **fit_kwargs) -> ExpressionDirections:
    """The directions saved at `path` when they belong to G; otherwise fit them and save them there."""
    directions = kept_directions(G, path)
    if directions is None:
        directions = fit_expression_directions(G, recognizer, **fit_kwargs)
        directions.save(path)
    return directions


# ---------------------------------------------------------------------------- measuring


def expression_mask(resolution: int, boxes=EXPRESSION_BOXES) -> np.ndarray:
    """Boolean (R, R): True outside the eyes and mouth boxes, where identity is measured."""
    keep = np.ones((resolution, resolution), bool)
    for x0, y0, x1, y1 in boxes:
        keep[int(y0 * resolution):int(np.ceil(y1 * resolution)), int(x0 * resolution):int(np.ceil(x1 * resolution))] = False
    return keep


def identity_distance(original, edited, boxes=EXPRESSION_BOXES) -> np.ndarray:
    """Per face: mean absolute grey-level change (0..255) outside the eyes and mouth."""
    original, edited = np.asarray(original, np.float64), np.asarray(edited, np.float64)
    keep = expression_mask(original.shape[1], boxes)
    return np.abs(edited - original).mean(axis=-1)[:, keep].mean(axis=1)


def top_faces(G, samples: ExpressionSamples, per_class: int = 6) -> dict:
    """Per expression, the faces of the `per_class` samples the recogniser scored highest for it."""
    rows = np.repeat(samples.w[:, None], G.num_ws, axis=1)
    return {name: render(G, rows[np.argsort(-samples.probs[:, k])[:per_class]]) for k, name in enumerate(EMOTIONS)}


def expression_grid(G, toon_G, directions: ExpressionDirections, w_plus, strengths) -> tuple[np.ndarray, np.ndarray]:
    """One latent ((num_ws, w_dim)) edited toward every expression at every strength, drawn by the
    face model and by the toon model: two (7, len(strengths), R, R, 3) uint8 arrays."""
    edited = np.stack([edit_expression(w_plus, k, s, directions) for k in range(len(EMOTIONS)) for s in strengths])
    real, toon = render(G, edited), render(toon_G, edited)
    shape = (len(EMOTIONS), len(strengths))
    return real.reshape(*shape, *real.shape[1:]), toon.reshape(*shape, *toon.shape[1:])


def strength_sweep(G, directions: ExpressionDirections, recognizers: dict, w_plus, strengths,
                   framing: str = "fer") -> pd.DataFrame:
    """One row per expression and strength: per recogniser, the mean probability of the intended
    expression and the share of faces labelled with it; the identity distance outside eyes and mouth."""
    originals = render(G, w_plus)
    rows = []
    for k, expression in enumerate(EMOTIONS):
        for strength in strengths:
            images = render(G, edit_expression(w_plus, k, strength, directions))
            row = {"expression": expression, "strength": float(strength),
                   "identity_distance": float(identity_distance(originals, images).mean())}
            for name, recognizer in recognizers.items():
                probs = classify_generated(images, recognizer, framing)
                row[f"p_{name}"] = float(probs[:, k].mean())
                row[f"hit_{name}"] = float(np.mean(probs.argmax(axis=1) == k))
            rows.append(row)
    return pd.DataFrame(rows)


def edit_report(sweep: pd.DataFrame, strength: float) -> pd.DataFrame:
    """Per expression, from a `strength_sweep`: each measure at strength 0 and at `strength`."""
    chosen = sweep[sweep["strength"].isin([0.0, float(strength)])]
    if set(chosen["strength"]) != {0.0, float(strength)}:
        raise ValueError(f"the sweep must include strengths 0 and {strength}")
    measures = [c for c in sweep.columns if c not in ("expression", "strength", "identity_distance")]
    wide = chosen.pivot(index="expression", columns="strength").loc[list(EMOTIONS)]
    wide.columns = [f"{measure} @{s:g}" for measure, s in wide.columns]
    order = [f"{m} @{s:g}" for m in measures for s in (0.0, float(strength))] + [f"identity_distance @{strength:g}"]
    return wide[order]


# ---------------------------------------------------------------------------- models


@dataclass
class ExpressionModels:
    """The face model latents are edited in, the toon model that draws them, and where the face
    model's directions are kept."""

    base_G: object
    toon_G: object
    directions_file: Path
    description: str
    real: bool


def expression_models(settings: ToonifySettings, base_pickle=None, toon_pickle=None) -> ExpressionModels:
    """The generators of a profile's settings (`config.EmojiSettings`) (or two official pickles, `models.toon_pair`)
    and the file of the face model's directions: the shipped one beside the course's face model,
    else a file in the cache named after the model."""
    from ..config import cache_dir
    from ..stylegan2.shipped import shipped_path
    from .models import toon_pair

    pair = toon_pair(settings.use_ffhq, settings.blend_resolution, settings.generator_resolution,
                     base_pickle, toon_pickle)
    cached = cache_dir() / "expressions"
    file = {"pickles": cached / (Path(str(base_pickle)).stem + DIRECTIONS_SUFFIX),
            "ffhq": cached / ("stylegan2-ffhq-config-f" + DIRECTIONS_SUFFIX),
            "metfaces": cached / ("stylegan2-ada-ffhq1024" + DIRECTIONS_SUFFIX),
            "shipped": directions_path(shipped_path("faces")),
            "untrained": cached / f"untrained-{pair.base_G.resolution}{DIRECTIONS_SUFFIX}"}[pair.source]
    return ExpressionModels(pair.base_G, pair.toon_G, file, pair.description, pair.real)


# ---------------------------------------------------------------------------- the emoji set


@dataclass
class EmojiSet:
    """A personal emoji set: the RGBA emoji per expression, and the faces they were cut from."""

    emoji: dict                 # expression -> RGBA uint8
    toon_faces: dict            # expression -> the toon model's RGB face
    real_faces: dict            # expression -> the face model's RGB face (the photo-real edit)
    latent: np.ndarray          # the photo's projected W+ latent
    aligned: np.ndarray         # the aligned photo crop
    strength: float


def personal_emoji_set(photo, base_G, toon_G, directions: ExpressionDirections, *, strength: float = 2.0,
                       steps: int = 200, w_stats=None, size: int = 128, cut_side: int = 256, seed: int = 0,
                       progress: bool = True) -> EmojiSet:
    """Your toon in seven expressions: align and project `photo` into `base_G` (`toonifier.Toonifier`),
    move the latent along each expression's direction, draw it with `toon_G` and cut the
    face out of its background (`faces.emoji.personal_emoji`) as a `size`-px RGBA emoji."""
    import cv2

    from ..faces.emoji import personal_emoji
    from .toonifier import Toonifier

    if directions.w_dim != base_G.w_dim:
        raise ValueError(f"the directions are {directions.w_dim}-d but the generator's w is {base_G.w_dim}-d: "
                         "fit directions for this generator (load_or_fit_directions)")
    toonifier = Toonifier(base_G, toon_G, steps=steps, w_stats=w_stats, seed=seed)
    result = toonifier.toonify(photo, progress=progress)
    emoji, toon_faces, real_faces = {}, {}, {}
    for expression in EMOTIONS:
        latent = edit_expression(result.latent, expression, strength, directions)
        toon_faces[expression] = toonifier.draw(latent)
        real_faces[expression] = toonifier.draw(latent, base_G)
        # GrabCut needs pixels: a small toon face is enlarged before the cut
        big = cv2.resize(toon_faces[expression], (cut_side, cut_side), interpolation=cv2.INTER_CUBIC)
        emoji[expression] = personal_emoji(big, size=size).cropped
    return EmojiSet(emoji, toon_faces, real_faces, result.latent, result.aligned_face, float(strength))
