"""FFHQ-style face alignment from Haar-cascade eye positions.

FFHQ, the data set the StyleGAN2 face model was trained on, crops every photo the
same way: the image is rotated so the eyes are level, scaled so the distance between
the eyes is a fixed fraction of the output, and shifted so the point between the
eyes lands at a fixed place.  Toonify's blending swaps layers between two networks
that must agree on where the eyes are, so a fine-tuning set should be cropped alike.

FFHQ finds the eyes with dlib's 68 landmarks; here OpenCV's Haar cascades find them
offline.  The output has the eye distance at 1/4 of the side and the eye midpoint at
(0.5, 0.47) of the side, which is where FFHQ's recipe puts them for a typical face.

When no plausible pair of eyes is found the face box is cropped as a plain,
unrotated square of the same scale (method "face-box"); when no face is found the
image is centre-cropped (method "none").  `AlignedFace.method` always says which.

Every `AlignedFace` also carries its `quad`: the crop's four corners in the photo, in
the order of NVIDIA's ffhq-dataset (top-left, bottom-left, bottom-right, top-right of
the crop; corners are pixel edges, in coordinates where pixel centres are integers).
`align_face_with_quad` builds the crop from FFHQ's own oriented-quad arithmetic
(`quad_from_eyes_mouth`), with the mouth estimated from the Haar eyes, and refuses a
photo without a face; `paste_back` warps an edited (e.g. toonified) crop of any size
back into the photo through a feathered mask, leaving every pixel outside the quad as
it was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..images import parse_color
from . import landmarks as _landmarks
from .detect import EYE_CASCADES, find_eyes, largest_face

EYE_DISTANCE = 0.25            # distance between the eyes, as a fraction of the output side
EYE_POSITION = (0.5, 0.47)     # eye midpoint (x, y), as fractions of the output side

# Where the eyes sit inside an OpenCV frontal-face box, measured on skimage's astronaut
# and the LFW faces whose eyes were found: eye distance 0.41 (std 0.08) of the box
# width, eye midpoint at 0.47-0.50 of the width and 0.37 (std 0.03) of the height.
BOX_EYE_DISTANCE = 0.41
BOX_EYE_POSITION = (0.5, 0.37)

_BORDERS = {
    "reflect": cv2.BORDER_REFLECT_101,
    "replicate": cv2.BORDER_REPLICATE,
    "constant": cv2.BORDER_CONSTANT,
}


@dataclass
class AlignedFace:
    """An aligned face crop and how it was made."""

    image: np.ndarray              # size x size x C uint8
    method: str                    # "dlib-68", "eyes", "face-box" or "none"
    face_box: tuple | None         # (x, y, w, h) in the source image
    eyes: tuple | None             # ((x, y) left, (x, y) right) in the source image
    angle: float                   # degrees the eye line was tilted (clockwise positive)
    matrix: np.ndarray             # 2 x 3 affine map from source to output pixels
    quad: np.ndarray | None = None  # 4 x 2 crop corners in the source (FFHQ order); from `matrix` if None
    landmarks: np.ndarray | None = None  # 68 x 2 dlib landmarks in the source (method "dlib-68" only)

    def __post_init__(self):
        if self.quad is None:
            self.quad = crop_quad(self.matrix, self.image.shape[1], self.image.shape[0])

    @property
    def box(self):
        """The face box (x, y, w, h) in the source image, or None (same as `face_box`)."""
        return self.face_box


def similarity_matrix(center, angle_deg: float, scale: float, target) -> np.ndarray:
    """The 2x3 matrix that rotates by -angle and scales about `center`, then moves it to `target`."""
    theta = math.radians(angle_deg)
    c, s = math.cos(theta) * scale, math.sin(theta) * scale
    linear = np.array([[c, s], [-s, c]])
    offset = np.asarray(target, float) - linear @ np.asarray(center, float)
    return np.hstack([linear, offset[:, None]])


def eyes_matrix(left, right, size: int, eye_distance=EYE_DISTANCE, eye_position=EYE_POSITION) -> np.ndarray:
    """The map that makes the eyes level, `eye_distance * size` apart, centred on `eye_position`."""
    dx, dy = right[0] - left[0], right[1] - left[1]
    scale = eye_distance * size / math.hypot(dx, dy)
    middle = ((left[0] + right[0]) / 2.0, (left[1] + right[1]) / 2.0)
    target = (eye_position[0] * size, eye_position[1] * size)
    return similarity_matrix(middle, math.degrees(math.atan2(dy, dx)), scale, target)


def face_box_matrix(box, size: int, eye_distance=EYE_DISTANCE, eye_position=EYE_POSITION) -> np.ndarray:
    """An unrotated square crop of a face box at the scale the eyes path would use."""
    x, y, w, h = box
    middle = (x + BOX_EYE_POSITION[0] * w, y + BOX_EYE_POSITION[1] * h)
    scale = eye_distance * size / (BOX_EYE_DISTANCE * w)
    target = (eye_position[0] * size, eye_position[1] * size)
    return similarity_matrix(middle, 0.0, scale, target)


def center_crop_matrix(shape, size: int) -> np.ndarray:
    """The centre square of an image, scaled to size x size."""
    h, w = shape[:2]
    scale = size / min(h, w)
    return similarity_matrix((w / 2.0, h / 2.0), 0.0, scale, (size / 2.0, size / 2.0))


def _shrink_source(img: np.ndarray, matrix: np.ndarray):
    """Area-shrink `img` to the scale `matrix` maps it to (when that shrinks), and fix the matrix."""
    scale = min(math.hypot(matrix[0, 0], matrix[1, 0]), math.hypot(matrix[0, 1], matrix[1, 1]))
    if scale >= 1.0:
        return img, matrix
    h, w = img.shape[:2]
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    img = cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_AREA)
    fx, fy = new_w / w, new_h / h
    # A source point p sits at p' = (p + 0.5) * f - 0.5 in the shrunk image, so the
    # matrix for the shrunk image is matrix(p) rewritten in terms of p'.
    linear = matrix[:, :2] @ np.diag([1 / fx, 1 / fy])
    offset = matrix[:, 2] + matrix[:, :2] @ np.array([0.5 / fx - 0.5, 0.5 / fy - 0.5])
    return img, np.hstack([linear, offset[:, None]])


def warp(img: np.ndarray, matrix: np.ndarray, size: int, border: str = "reflect", background="white") -> np.ndarray:
    """Apply a similarity `matrix` to make a size x size image, without aliasing.

    warpAffine samples the source at one point per output pixel, which aliases when
    the image shrinks a lot; so the source is first shrunk with area averaging to the
    output scale, and the remaining rotation is done with bicubic interpolation.
    """
    if border not in _BORDERS:
        raise ValueError(f"border must be one of {sorted(_BORDERS)}, got {border!r}")
    img, matrix = _shrink_source(img, matrix)
    fill = parse_color(background)[: img.shape[2]] if img.ndim == 3 else parse_color(background)[0]
    return cv2.warpAffine(
        img, matrix, (size, size), flags=cv2.INTER_CUBIC, borderMode=_BORDERS[border], borderValue=fill
    )


def align_face(
    img: np.ndarray,
    size: int = 256,
    *,
    eye_distance: float = EYE_DISTANCE,
    eye_position=EYE_POSITION,
    face_box=None,
    eye_cascades=EYE_CASCADES,
    border: str = "reflect",
    background="white",
) -> AlignedFace:
    """Align the largest face of an RGB (or gray) uint8 image into a size x size crop.

    `face_box` skips face detection when the caller already has one; `eye_cascades=()`
    forces the face-box crop.
    """
    box = tuple(face_box) if face_box is not None else largest_face(img)
    eyes = find_eyes(img, box, eye_cascades) if box is not None else None
    if eyes is not None:
        (lx, ly), (rx, ry) = eyes
        matrix = eyes_matrix(eyes[0], eyes[1], size, eye_distance, eye_position)
        method, angle = "eyes", math.degrees(math.atan2(ry - ly, rx - lx))
    elif box is not None:
        matrix = face_box_matrix(box, size, eye_distance, eye_position)
        method, angle = "face-box", 0.0
    else:
        matrix = center_crop_matrix(img.shape, size)
        method, angle = "none", 0.0
    image = warp(img, matrix, size, border, background)
    return AlignedFace(image=image, method=method, face_box=box, eyes=eyes, angle=angle, matrix=matrix)


def transform_points(matrix: np.ndarray, points) -> np.ndarray:
    """Map (x, y) points with a 2x3 affine matrix."""
    pts = np.asarray(points, float).reshape(-1, 2)
    return pts @ matrix[:, :2].T + matrix[:, 2]


# ------------------------------------------------------------------ FFHQ quads and paste-back

# Mouth-to-eye-midpoint distance as a multiple of the eye distance, assumed when only the
# eyes are known.  At 1.1 FFHQ's rule below is set by the eyes (2 x eye distance beats
# 1.8 x 1.1), so the crop has the eyes 1/4 of its side apart and their midpoint at 0.4725
# of its height: the framing `align_face` uses (EYE_DISTANCE, EYE_POSITION).
EYE_TO_MOUTH = 1.1


def quad_from_eyes_mouth(left_eye, right_eye, mouth_left, mouth_right) -> np.ndarray:
    """FFHQ's oriented crop square from eye centres and mouth corners, as a 4 x 2 array.

    The arithmetic of NVIDIA's ffhq-dataset: the crop's x axis runs along the eye line
    tilted by the eye-to-mouth direction, its half side is the larger of twice the eye
    distance and 1.8 times the eye-to-mouth distance, and its centre sits a tenth of the
    way from the eye midpoint to the mouth.  "Left" is the point on the left of the image
    (dlib's landmarks 36-41 and 48).  Rows: top-left, bottom-left, bottom-right, top-right
    of the crop (c - x - y, c - x + y, c + x + y, c + x - y).
    """
    left_eye, right_eye, mouth_left, mouth_right = (
        np.asarray(p, float).reshape(2) for p in (left_eye, right_eye, mouth_left, mouth_right)
    )
    eye_avg = (left_eye + right_eye) * 0.5
    eye_to_eye = right_eye - left_eye
    mouth_avg = (mouth_left + mouth_right) * 0.5
    eye_to_mouth = mouth_avg - eye_avg
    x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]
    length = math.hypot(*x)
    if not length > 0:
        raise ValueError("eyes and mouth give no direction (the points coincide)")
    x = x / length * max(math.hypot(*eye_to_eye) * 2.0, math.hypot(*eye_to_mouth) * 1.8)
    y = np.flipud(x) * [-1, 1]
    c = eye_avg + eye_to_mouth * 0.1
    return np.stack([c - x - y, c - x + y, c + x + y, c + x - y])


def estimate_mouth(left_eye, right_eye, ratio: float = EYE_TO_MOUTH):
    """Mouth corners ((x, y) left, (x, y) right) guessed from the eyes alone.

    The mouth's midpoint is put `ratio` eye distances below the eye midpoint, at right
    angles to the eye line (downwards for an upright face); its corners 0.4 eye distances
    either side.  Only the midpoint matters to `quad_from_eyes_mouth`.  A face box would
    not sharpen the guess: where a Haar box puts the mouth varies more than this ratio.
    """
    left_eye, right_eye = np.asarray(left_eye, float), np.asarray(right_eye, float)
    eye_to_eye = right_eye - left_eye
    down = np.array([-eye_to_eye[1], eye_to_eye[0]])          # eye line turned 90 degrees
    middle = (left_eye + right_eye) * 0.5 + ratio * down
    return middle - 0.4 * eye_to_eye, middle + 0.4 * eye_to_eye


def box_eyes(box) -> tuple[np.ndarray, np.ndarray]:
    """Level eye centres (image left first) where they usually sit in a face box
    (`BOX_EYE_POSITION`, `BOX_EYE_DISTANCE`): what the quad rests on when only a box is known."""
    x, y, w, h = box
    middle = np.array([x + BOX_EYE_POSITION[0] * w, y + BOX_EYE_POSITION[1] * h], float)
    half = np.array([BOX_EYE_DISTANCE * w / 2.0, 0.0])
    return middle - half, middle + half


def quad_from_box(box, mouth_ratio: float = EYE_TO_MOUTH) -> np.ndarray:
    """FFHQ's crop quad for a face box alone: `box_eyes`, the mouth `mouth_ratio` eye distances
    below them (`estimate_mouth`), then `quad_from_eyes_mouth`: an unrotated square."""
    left, right = box_eyes(box)
    return quad_from_eyes_mouth(left, right, *estimate_mouth(left, right, mouth_ratio))


def _check_quad(quad) -> np.ndarray:
    q = np.asarray(quad, float)
    if q.shape != (4, 2):
        raise ValueError(f"a quad is 4 x 2 corner coordinates (top-left, bottom-left, bottom-right, "
                         f"top-right), got shape {q.shape}")
    if not np.all(np.isfinite(q)):
        raise ValueError(f"the quad has a non-finite corner: {q.tolist()}")
    ex, ey = q[3] - q[0], q[1] - q[0]
    area = abs(ex[0] * ey[1] - ex[1] * ey[0])
    if area < 1e-6:
        raise ValueError(f"the quad is degenerate (no area): {q.tolist()}")
    side = max(math.hypot(*ex), math.hypot(*ey))
    if np.abs(q[2] - (q[1] + q[3] - q[0])).max() > 1e-3 * side + 1e-6:
        raise ValueError(f"the quad is not a parallelogram, so no affine map reaches it: {q.tolist()}")
    return q


def quad_matrix(quad, width: int, height: int | None = None) -> np.ndarray:
    """The 2 x 3 map from photo pixels to a width x height crop whose corners are `quad`."""
    q = _check_quad(quad)
    height = width if height is None else height
    basis = np.column_stack([q[3] - q[0], q[1] - q[0]])      # the crop's x and y edges in the photo
    linear = np.diag([float(width), float(height)]) @ np.linalg.inv(basis)
    offset = np.array([-0.5, -0.5]) - linear @ q[0]
    return np.hstack([linear, offset[:, None]])


def crop_quad(matrix: np.ndarray, width: int, height: int | None = None) -> np.ndarray:
    """The corners of a width x height crop made with `matrix`, in the source (FFHQ order)."""
    height = width if height is None else height
    full = np.vstack([np.asarray(matrix, float), [0.0, 0.0, 1.0]])
    inverse = np.linalg.inv(full)[:2]
    w, h = width - 0.5, height - 0.5
    return transform_points(inverse, [(-0.5, -0.5), (-0.5, h), (w, h), (w, -0.5)])


def align_to_quad(img: np.ndarray, quad, size: int = 256, *, method: str = "quad", face_box=None, eyes=None,
                  border: str = "reflect", background="white") -> AlignedFace:
    """Crop the square `quad` of `img` into size x size (the last step of FFHQ's recipe).

    Parts of the quad beyond the photo are filled as `border` says; FFHQ instead pads
    with a blurred reflection, which this does not imitate.
    """
    q = _check_quad(quad)
    matrix = quad_matrix(q, size)
    x_axis = q[3] - q[0]
    angle = math.degrees(math.atan2(x_axis[1], x_axis[0]))
    image = warp(img, matrix, size, border, background)
    return AlignedFace(image=image, method=method, face_box=face_box, eyes=eyes, angle=angle,
                       matrix=matrix, quad=q)


def align_face_with_quad(
    img: np.ndarray,
    size: int = 256,
    *,
    face_box=None,
    eye_cascades=EYE_CASCADES,
    mouth_ratio: float = EYE_TO_MOUTH,
    border: str = "reflect",
    background="white",
) -> AlignedFace:
    """Align the largest face with FFHQ's quad arithmetic; the result carries its quad.

    With a plausible pair of Haar eyes (method "eyes", as `align_face` names it) the mouth
    is estimated from them (`estimate_mouth`, `mouth_ratio` eye distances below the eye line) and the quad
    follows `quad_from_eyes_mouth`.  Without one (method "face-box") the eyes are placed
    where they usually sit in the face box (BOX_EYE_POSITION, BOX_EYE_DISTANCE), level,
    and the same rule gives an unrotated square.  A photo with no face raises ValueError;
    `align_face` centre-crops it instead.
    """
    box = tuple(face_box) if face_box is not None else largest_face(img)
    if box is None:
        raise ValueError(f"no face found in the image (shape {img.shape}); "
                         "pass face_box=(x, y, w, h) to align a known face")
    eyes = find_eyes(img, box, eye_cascades)
    if eyes is not None:
        quad = quad_from_eyes_mouth(eyes[0], eyes[1], *estimate_mouth(eyes[0], eyes[1], mouth_ratio))
    else:
        quad = quad_from_box(box, mouth_ratio)
    method = "eyes" if eyes is not None else "face-box"
    return align_to_quad(img, quad, size, method=method, face_box=box, eyes=eyes, border=border,
                         background=background)


def quad_mask(shape, quad, feather: float = 0.1) -> np.ndarray:
    """A float32 H x W mask of the quad in an image of `shape`: 1 inside, 0 outside.

    The mask rises from 0 on the quad's edge to 1 at `feather` (a fraction of the quad's
    side, 0 to 0.5) inside it, along a smoothstep; with feather=0 it is a hard 0/1 mask.
    Pixels on or outside the edge are exactly 0.
    """
    if not 0.0 <= feather <= 0.5:
        raise ValueError(f"feather is a fraction of the quad's side in [0, 0.5], got {feather!r}")
    q = _check_quad(quad)
    height, width = shape[:2]
    basis_inv = np.linalg.inv(np.column_stack([q[3] - q[0], q[1] - q[0]]))
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    dx, dy = xs - q[0, 0], ys - q[0, 1]
    u = basis_inv[0, 0] * dx + basis_inv[0, 1] * dy              # 0..1 across the crop
    v = basis_inv[1, 0] * dx + basis_inv[1, 1] * dy              # 0..1 down the crop
    inside = np.minimum(np.minimum(u, 1.0 - u), np.minimum(v, 1.0 - v))
    if feather == 0:
        return (inside > 0).astype(np.float32)
    t = np.clip(inside / feather, 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


def paste_back(photo: np.ndarray, face: np.ndarray, quad_or_aligned, feather: float = 0.1) -> np.ndarray:
    """Warp an aligned (maybe edited or toonified) `face` back into `photo`; a new array.

    `quad_or_aligned` is the `AlignedFace` the crop came from or its 4 x 2 `quad`; `face`
    may be any size (a 1024 x 1024 Toonify output for a 256 crop is fine: it is area-shrunk
    before the bicubic warp).  It is blended in through `quad_mask(..., feather)`, so the
    quad's rim fades into the photo and every pixel outside the quad is returned as it
    was.  `photo` and `face` are both RGB (H x W x 3) or both gray (H x W) uint8.
    """
    quad = quad_or_aligned.quad if isinstance(quad_or_aligned, AlignedFace) else quad_or_aligned
    for name, a in (("photo", photo), ("face", face)):
        a = np.asarray(a)
        if a.dtype != np.uint8 or not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)) or min(a.shape[:2]) < 1:
            raise ValueError(f"{name} must be an H x W x 3 RGB or H x W gray uint8 array, "
                             f"got shape {a.shape} dtype {a.dtype}")
    photo, face = np.asarray(photo), np.asarray(face)
    if photo.ndim != face.ndim:
        raise ValueError(f"photo and face must both be RGB or both gray, got shapes {photo.shape} and {face.shape}")
    q = _check_quad(quad)
    out = photo.copy()
    height, width = photo.shape[:2]
    x0, y0 = max(0, int(math.floor(q[:, 0].min()))), max(0, int(math.floor(q[:, 1].min())))
    x1, y1 = min(width, int(math.ceil(q[:, 0].max())) + 1), min(height, int(math.ceil(q[:, 1].max())) + 1)
    if x0 >= x1 or y0 >= y1:
        return out                                                # the quad lies outside the photo
    roi_quad = q - [x0, y0]
    alpha = quad_mask((y1 - y0, x1 - x0), roi_quad, feather)
    if not alpha.any():
        return out
    # face pixels -> ROI pixels: the inverse of the crop's matrix
    to_crop = np.vstack([quad_matrix(roi_quad, face.shape[1], face.shape[0]), [0.0, 0.0, 1.0]])
    to_roi = np.linalg.inv(to_crop)[:2]
    source, to_roi = _shrink_source(face, to_roi)
    warped = cv2.warpAffine(source, to_roi, (x1 - x0, y1 - y0), flags=cv2.INTER_CUBIC,
                            borderMode=cv2.BORDER_REPLICATE)
    roi = out[y0:y1, x0:x1].astype(np.float32)
    if roi.ndim == 3:
        alpha = alpha[..., None]
    blended = np.clip(np.rint(roi + alpha * (warped.astype(np.float32) - roi)), 0, 255).astype(np.uint8)
    out[y0:y1, x0:x1] = np.where(alpha > 0, blended, out[y0:y1, x0:x1])
    return out


# ------------------------------------------------------------------ FFHQ's own recipe (dlib landmarks)

FFHQ_SUPERSAMPLE = 4   # NVIDIA transforms to 4096 x 4096 and downsamples to the 1024 x 1024 output


def _ffhq_pad(work: np.ndarray, pad, qsize: float) -> np.ndarray:
    """FFHQ's padding: reflect, blur towards the rim, and fade to the median colour far out."""
    left, top, right, bottom = (max(int(p), 1) for p in pad)
    img = np.pad(work.astype(np.float32), ((top, bottom), (left, right), (0, 0)), mode="reflect")
    h, w = img.shape[:2]
    y, x = np.ogrid[:h, :w]
    x, y = x.astype(np.float32), y.astype(np.float32)
    mask = np.maximum(1.0 - np.minimum(x / left, (w - 1 - x) / right),
                      1.0 - np.minimum(y / top, (h - 1 - y) / bottom))[..., None]
    blur = qsize * 0.02
    blurred = cv2.GaussianBlur(img, (0, 0), sigmaX=blur, sigmaY=blur, borderType=cv2.BORDER_REFLECT) if blur > 0 else img
    img += (blurred - img) * np.clip(mask * 3.0 + 1.0, 0.0, 1.0)
    img += (np.median(img, axis=(0, 1)) - img) * np.clip(mask, 0.0, 1.0)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def ffhq_transform(img: np.ndarray, quad, size: int = 1024, *, supersample: int = FFHQ_SUPERSAMPLE,
                   shrink: bool = True, padding: bool = True) -> np.ndarray:
    """Cut the square `quad` out of `img` into size x size the way NVIDIA's ffhq-dataset does.

    The steps of `recreate_aligned_images`, in OpenCV: (1) when the quad is at least 4x
    the output, area-shrink the photo by the integer factor floor(quad side / size / 2);
    (2) crop to the quad's bounding box plus a border of a tenth of its side; (3) where
    the quad comes within 4 pixels of the photo's edge or leaves it, pad by at least 0.3
    of its side with a reflection that is blurred (sigma 0.02 of the side) and faded to
    the median colour towards the rim; (4) map the quad onto a (supersample * size)
    square with bilinear sampling, then area-average it down to size x size.
    Kept: the constants, the order and the coordinate convention (quad corners are pixel
    edges, pixel centres integers: NVIDIA's ``quad + 0.5`` for PIL).  Changed: PIL's QUAD
    transform becomes one affine warp (FFHQ's quad is always a square, so the two agree);
    PIL's ANTIALIAS (Lanczos) resizes become OpenCV's area averaging; the shrink maps the
    quad exactly, (q + 0.5) * f - 0.5, where NVIDIA divides it by the factor; the blur is
    cv2.GaussianBlur rather than scipy.ndimage's.  Gray and RGBA images are handled too.
    """
    q = _check_quad(quad).copy()
    work = np.asarray(img)
    gray = work.ndim == 2
    if gray:
        work = work[..., None]
    qsize = math.hypot(*(q[3] - q[0]))
    factor = int(math.floor(qsize / size * 0.5))
    if shrink and factor > 1:
        h, w = work.shape[:2]
        new_w, new_h = max(1, int(round(w / factor))), max(1, int(round(h / factor)))
        work = cv2.resize(work, (new_w, new_h), interpolation=cv2.INTER_AREA).reshape(new_h, new_w, -1)
        scale = np.array([new_w / w, new_h / h])
        q = (q + 0.5) * scale - 0.5
        qsize *= float(scale.mean())
    border = max(int(round(qsize * 0.1)), 3)
    h, w = work.shape[:2]
    x0, y0 = max(int(math.floor(q[:, 0].min())) - border, 0), max(int(math.floor(q[:, 1].min())) - border, 0)
    x1, y1 = min(int(math.ceil(q[:, 0].max())) + border, w), min(int(math.ceil(q[:, 1].max())) + border, h)
    if x0 < x1 and y0 < y1 and (x1 - x0 < w or y1 - y0 < h):
        work = work[y0:y1, x0:x1]
        q -= [x0, y0]
    h, w = work.shape[:2]
    pad = np.array([max(-int(math.floor(q[:, 0].min())) + border, 0), max(-int(math.floor(q[:, 1].min())) + border, 0),
                    max(int(math.ceil(q[:, 0].max())) - w + border, 0), max(int(math.ceil(q[:, 1].max())) - h + border, 0)])
    if padding and pad.max() > border - 4:
        pad = np.maximum(pad, int(round(qsize * 0.3)))
        work = _ffhq_pad(work, pad, qsize)
        q += [max(int(pad[0]), 1), max(int(pad[1]), 1)]
    big = size * max(1, int(supersample))
    out = cv2.warpAffine(np.ascontiguousarray(work), quad_matrix(q, big), (big, big), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT_101)
    if big != size:
        out = cv2.resize(out, (size, size), interpolation=cv2.INTER_AREA)
    out = out.reshape(size, size, -1)
    return out[..., 0] if gray else out


def align_face_ffhq(img: np.ndarray, size: int = 1024, *, face_box=None, landmarks=None,
                    supersample: int = FFHQ_SUPERSAMPLE, shrink: bool = True, padding: bool = True) -> AlignedFace:
    """Align the largest face exactly as FFHQ was made: dlib's 68 landmarks, the oriented quad, the transform.

    The eye centres are the means of landmarks 36-41 and 42-47, the mouth corners are
    landmarks 48 and 54; `quad_from_eyes_mouth` gives the quad and `ffhq_transform` cuts
    it out.  `landmarks` (68 x 2) skips dlib entirely; `face_box` (x, y, w, h) skips dlib's
    face detector.  Returns an `AlignedFace` with method "dlib-68", the quad and matrix in
    `img`'s pixels (so `paste_back` works), `eyes` the two eye centres and `landmarks`.
    Needs the ``toonemo[align]`` extra unless `landmarks` is given; raises ValueError when
    dlib finds no face.
    """
    if landmarks is None:
        landmarks = _landmarks.face_landmarks(img, face_box)
    landmarks = np.asarray(landmarks, float)
    left, right, mouth_left, mouth_right = _landmarks.eyes_and_mouth(landmarks)
    quad = quad_from_eyes_mouth(left, right, mouth_left, mouth_right)
    image = ffhq_transform(img, quad, size, supersample=supersample, shrink=shrink, padding=padding)
    if face_box is None:
        x0, y0 = landmarks.min(axis=0)
        x1, y1 = landmarks.max(axis=0)
        face_box = (int(math.floor(x0)), int(math.floor(y0)), int(math.ceil(x1 - x0)) + 1, int(math.ceil(y1 - y0)) + 1)
    x_axis = quad[3] - quad[0]
    return AlignedFace(image=image, method="dlib-68", face_box=tuple(face_box),
                       eyes=(tuple(left.tolist()), tuple(right.tolist())),
                       angle=math.degrees(math.atan2(x_axis[1], x_axis[0])), matrix=quad_matrix(quad, size),
                       quad=quad, landmarks=landmarks)


def align_best(img: np.ndarray, size: int = 256, *, face_box=None, landmarks="auto", **fallback) -> AlignedFace:
    """The best alignment available: FFHQ's dlib recipe, else Haar eyes, else the face box.

    With the ``toonemo[align]`` extra installed (`faces.landmarks.landmarks_available()`)
    and `landmarks` "auto" or True this is `align_face_ffhq` (method "dlib-68").
    Otherwise, or when dlib finds no face and `landmarks` is "auto", it falls back to
    `align_face_with_quad` (method "eyes" or "face-box", with `fallback` passed on);
    `landmarks=False` forces the fallback.  The method is always in `.method`, and the
    quad in `.quad` for `paste_back`.
    """
    if landmarks not in ("auto", True, False):
        raise ValueError(f'landmarks must be "auto", True or False, got {landmarks!r}')
    if landmarks is True and not _landmarks.landmarks_available():
        raise _landmarks.LandmarksUnavailable(f"landmarks=True needs dlib; {_landmarks.INSTALL_HINT}")
    if landmarks is not False and _landmarks.landmarks_available():
        try:
            return align_face_ffhq(img, size, face_box=face_box)
        except ValueError:
            if landmarks is True:
                raise
    return align_face_with_quad(img, size, face_box=face_box, **fallback)
