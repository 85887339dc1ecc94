"""The `toonemo toonify` command: a photo's face(s) drawn by the toon model and pasted back.

    toonemo toonify PHOTO OUT.png [--base PKL --toon PKL] [--blend-resolution R] [--steps N]
                                  [--profile smoke|cpu|gpu] [--all-faces]

Finds the largest face (every face with --all-faces), aligns it, projects it into the face
model, draws the latent with the toon model and pastes it back (`toonify.toonifier.toonify`).  Writes
OUT.png and, beside it, what each face went through: ``OUT.aligned.png`` (the aligned photo
crop), ``OUT.toon.png`` (the toon face) and ``OUT.latent.npy`` (the W+ latent); with
--all-faces, ``OUT.face1.aligned.png`` ... for each face, largest first.

Models: two official pickles (--base, the face model; --toon, the toon model blended from it;
--blend-resolution R blends them again at R), else the profile's pair: `smoke` and `cpu` the
course's shipped pair (its face model and the cartoon model fine-tuned from it) blended at
16x16, `gpu` FFHQ and the Toonify pickle of the cache blended at 32x32.  The command says
which it used.
Exit status: 0 written, 1 a failure (unreadable photo, no face, a model that cannot be
loaded), 2 a usage error.
"""

from __future__ import annotations

from pathlib import Path

from .options import add_model_options, check_usage, model_options_error, output_error, range_error

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def add_commands(subparsers) -> None:
    """Register `toonemo toonify`."""
    cmd = subparsers.add_parser(
        "toonify", help="toonify the face(s) of a photo: project, draw with the toon model, paste back",
        description="Find the face, align it, project it into the face model, draw the same latent with the "
                    "toon model (blended from the face model) and paste it back into the photo.",
        epilog="exit status: 0 written, 1 a failure while working, 2 a usage error")
    cmd.add_argument("photo", type=Path, metavar="PHOTO", help="a photo with a face")
    cmd.add_argument("out", type=Path, metavar="OUT.png", help="the toonified photo (.png or .jpg)")
    add_model_options(cmd, "projection steps and models")
    cmd.add_argument("--blend-resolution", type=int, default=None, metavar="R",
                     help="layers from R x R up come from the face model (default: the profile's, 16 for "
                          "the course's pair, 32 for FFHQ; pickles are used as they are)")
    cmd.add_argument("--steps", type=int, default=None, help="projection steps (default: the profile's)")
    cmd.add_argument("--all-faces", action="store_true", help="toonify every face found, not only the largest")
    cmd.set_defaults(func=_cmd_toonify)


def usage_errors(args) -> list[str]:
    """What is wrong with the options, before any work."""
    errors = [model_options_error(args)]
    if args.out.suffix.lower() not in IMAGE_SUFFIXES:
        errors.append(f"OUT must be a .png or .jpg file, got {args.out.name!r}")
    if args.out.resolve() == args.photo.resolve():
        errors.append("OUT must differ from PHOTO: the photo would be overwritten")
    if args.out.is_dir():
        errors.append(f"OUT {args.out} is a folder; give a file name such as {args.out / 'toon.png'}")
    else:
        errors.append(output_error("OUT", args.out, folder=False))
    errors.append(range_error("--steps", args.steps, minimum=1))
    R = args.blend_resolution
    if R is not None and (R < 4 or R & (R - 1)):
        errors.append(f"--blend-resolution must be a power of two, at least 4, got {R}")
    return [error for error in errors if error]


def side_paths(out: Path, face: int | None) -> dict[str, Path]:
    """Where one face's aligned crop, toon face and latent go, beside OUT."""
    stem = out.stem if face is None else f"{out.stem}.face{face}"
    return {"aligned": out.with_name(f"{stem}.aligned.png"), "toon": out.with_name(f"{stem}.toon.png"),
            "latent": out.with_name(f"{stem}.latent.npy")}


def load_pair(args, settings):
    """The face and toon models the options ask for (`toonify.models.ToonPair`)."""
    from ..stylegan2.blend import blend_generators
    from ..toonify.models import toon_pair

    if args.base is not None:
        pair = toon_pair(False, 0, base_pickle=args.base, toon_pickle=args.toon)
        if args.blend_resolution is not None:  # the toon model's coarse layers, the face model's fine ones
            pair.toon_G = blend_generators(pair.toon_G, pair.base_G, args.blend_resolution)
            pair.description += f"; blended again at {args.blend_resolution}x{args.blend_resolution}"
        return pair
    resolution = args.blend_resolution or settings.blend_resolution
    return toon_pair(settings.use_ffhq, resolution, settings.generator_resolution)


def face_boxes(photo, all_faces: bool) -> list | None:
    """Every face box, largest first, with --all-faces; None lets toonify find the largest itself."""
    if not all_faces:
        return None
    from ..faces.detect import detect_faces

    boxes = detect_faces(photo)
    if not boxes:
        raise ValueError("no face found in the photo")
    return boxes


def _cmd_toonify(args) -> int:
    check_usage(*usage_errors(args))
    import numpy as np

    from ..config import get_profile
    from ..images import read_image, write_image

    settings = get_profile(args.profile).toonify
    steps = args.steps or settings.projection_steps
    photo = read_image(args.photo)  # before any model loads: a bad photo fails at once
    boxes = face_boxes(photo, args.all_faces)
    from ..toonify.toonifier import Toonifier

    pair = load_pair(args, settings)
    print(f"models: {pair.description}")
    toonifier = Toonifier(pair.base_G, pair.toon_G, steps=steps, w_avg_samples=settings.w_avg_samples)
    pasted, results = photo, []
    for box in boxes or [None]:
        result = toonifier.toonify(pasted, face_box=box)
        pasted = result.pasted
        results.append(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_image(args.out, pasted)
    for i, result in enumerate(results, start=1):
        paths = side_paths(args.out, i if args.all_faces else None)
        write_image(paths["aligned"], result.aligned_face)
        write_image(paths["toon"], result.toon_face)
        np.save(paths["latent"], result.latent)
    faces = f"{len(results)} faces" if len(results) > 1 else "1 face"
    print(f"wrote {args.out} ({faces}, {steps} projection steps) with the aligned face, toon face and latent beside it")
    return 0
