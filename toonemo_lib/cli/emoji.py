"""The `toonemo emoji` command: a personal emoji set, one RGBA PNG per expression, from one photo.

    toonemo emoji PHOTO OUT_DIR [--profile smoke|cpu|gpu] [--base PKL --toon PKL] [--strength S]

Without --base/--toon the profile's models are used (`smoke` and `cpu`: the course's shipped
32x32 pair and the directions shipped beside its face model; `gpu`: FFHQ and the Toonify
pickle of the cache).  Directions for other models are fitted once and cached.  OUT_DIR gets
`angry.png` ... `neutral.png` (the folder `toonemo webcam --emoji` takes) and `sheet.png`.
Exit status: 0 written, 1 a failure (unreadable photo, no face, a model that cannot be
loaded), 2 a usage error.
"""

from __future__ import annotations

from pathlib import Path

from .options import add_model_options, check_usage, model_options_error, number, output_error

STRENGTH_MAX = 100  # standard deviations: the course uses 2 to 6; far beyond, the toon model draws noise


def add_commands(subparsers) -> None:
    """Register `toonemo emoji`."""
    emoji = subparsers.add_parser(
        "emoji", help="your toon in seven expressions: a personal emoji set from one photo",
        description="Align and project the photo's face, edit it toward each of the seven expressions along "
                    "directions found with the emotion recogniser, draw each with the toon model and cut it out.",
        epilog="exit status: 0 written, 1 a failure while working, 2 a usage error")
    emoji.add_argument("photo", type=Path, metavar="PHOTO", help="a photo with a face")
    emoji.add_argument("out", type=Path, metavar="OUT_DIR", help="the folder for the seven PNGs and sheet.png")
    add_model_options(emoji, "projection steps, strength and models")
    emoji.add_argument("--strength", type=number(float, minimum=-STRENGTH_MAX, maximum=STRENGTH_MAX), default=None,
                       help="standard deviations along each direction, negative away from the expression "
                            f"(-{STRENGTH_MAX} to {STRENGTH_MAX}; default: the profile's)")
    emoji.set_defaults(func=_cmd_emoji)


def _cmd_emoji(args) -> int:
    check_usage(model_options_error(args),
                output_error("OUT_DIR", args.out, folder=True))
    from ..config import get_profile
    from ..images import read_image, write_image
    from ..runs import staged_outputs

    settings = get_profile(args.profile).emoji
    photo = read_image(args.photo)  # before any model loads: a bad photo fails at once
    from ..emotion.recognize import EmotionRecognizer
    from ..toonify.expressions import expression_models, load_or_fit_directions, personal_emoji_set
    from ..stylegan2.project import w_statistics
    from ..video.overlay import emoji_sheet, write_emoji_set

    models = expression_models(settings, args.base, args.toon)
    print(f"models: {models.description}")
    directions = load_or_fit_directions(models.base_G, models.directions_file, EmotionRecognizer(),
                                        samples=settings.samples, layer_samples=settings.layer_samples,
                                        framing=settings.framing)
    made = personal_emoji_set(photo, models.base_G, models.toon_G, directions,
                              strength=settings.strength if args.strength is None else args.strength,
                              steps=settings.projection_steps, size=settings.emoji_size,
                              w_stats=w_statistics(models.base_G, settings.w_avg_samples))
    with staged_outputs(args.out, label="emoji") as stage:  # the seven and the sheet replace an old set together
        written = write_emoji_set(made.emoji, stage)
        write_image(stage / "sheet.png", emoji_sheet(made.emoji, background="checker"))
    print(f"wrote {len(written)} emoji and sheet.png to {args.out} (strength {made.strength:g})")
    return 0
