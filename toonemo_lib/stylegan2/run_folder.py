"""The run folder: the check that it holds this run, resuming from its newest readable
snapshot, snapshot pruning, and carrying a run between sessions (`carry_run`,
`continue_carried_run`)."""

import os
import warnings
from pathlib import Path

from .. import runs
from ..unreadable import READ_ERRORS, UnreadableFile, UnreadableFileWarning, describe, read_or_report
from .snapshot import list_snapshots, load_snapshot, readable_snapshots, snapshot_kimg
from .spec import IDENTITY

DAMAGED_SUFFIX = ".unreadable"  # what a skipped snapshot is renamed to: out of every listing, kept to look at


class RunMismatchError(ValueError):
    """The run folder holds a run started with other data or settings."""


def read_config(run_dir) -> dict | None:
    """The run folder's config.json (None when there is none); a damaged one is an
    `UnreadableFile` naming it."""
    return read_or_report(Path(run_dir) / runs.CONFIG, runs.read_json, "JSON file")


def check_same_run(out, identity) -> None:
    """Refuse a run folder whose config.json records other data or settings."""
    recorded = read_config(out)
    if recorded is None:
        if list_snapshots(out).shape[0]:
            raise RunMismatchError(f"{out} holds snapshots but no {runs.CONFIG}")
        return
    differs = {k: (recorded.get(k), identity.get(k)) for k in IDENTITY if recorded.get(k) != identity.get(k)}
    if differs:
        lines = ", ".join(f"{k}: {a!r} there, {b!r} now" for k, (a, b) in differs.items())
        raise RunMismatchError(f"{out} holds another run ({lines}); choose a new --out folder")


CARRY_MAX_BYTES = 15 * 2**20  # what one commit may add to the repository


def carry_run(out, carry) -> Path:
    """Copy what continues the run in `out` -- its newest snapshot (networks, optimiser and loop
    state), config.json and log.csv -- into `carry`, replacing the older snapshot there.

    A run longer than a session lives between sessions in such a folder (committed under
    ``data/checkpoints/<run>/``); `continue_carried_run` brings it back.  Refuses a snapshot
    over 15 MiB, what one commit may carry.
    """
    out, carry = Path(out), Path(carry)
    newest = list_snapshots(out)["path"].iloc[-1]
    size = newest.stat().st_size
    if size > CARRY_MAX_BYTES:
        raise ValueError(f"{newest.name} is {size / 2**20:.1f} MiB: a carried snapshot is at most "
                         f"{CARRY_MAX_BYTES / 2**20:.0f} MiB (use a smaller configuration)")
    carry.mkdir(parents=True, exist_ok=True)
    for name in (runs.CONFIG, runs.LOG):
        runs.atomic_write_text(carry / name, (out / name).read_text())
    part = carry / (newest.name + ".part")
    part.write_bytes(newest.read_bytes())
    os.replace(part, carry / newest.name)
    for old in list_snapshots(carry)["path"]:
        if old.name != newest.name:
            old.unlink()
    return carry / newest.name


def continue_carried_run(carry, out) -> bool:
    """Bring a carried run (`carry_run`) into the run folder `out` when it is ahead of `out`'s
    own snapshots; returns whether it did.

    Only readable snapshots count, on both sides: a damaged carried one is skipped with a
    warning; when neither folder has a readable one, `UnreadableFile` says so.
    """
    carry, out = Path(carry), Path(out)
    carried, own = readable_snapshots(carry), readable_snapshots(out)  # empty for a missing folder
    for path, why in carried.attrs["unreadable"]:
        warnings.warn(f"skipping the carried snapshot {path}: unreadable ({why})", UnreadableFileWarning)
    if not len(carried):
        if carried.attrs["unreadable"] and not len(own):
            raise no_readable_snapshot(carry, carried.attrs["unreadable"])
        return False
    if len(own) and own["kimg"].iloc[-1] >= carried["kimg"].iloc[-1]:
        return False
    for name in (runs.CONFIG, runs.LOG):
        if not (carry / name).is_file():
            raise FileNotFoundError(f"{carry} holds a snapshot but no {name}: not a carried run")
    out.mkdir(parents=True, exist_ok=True)
    for name in (runs.CONFIG, runs.LOG):
        runs.atomic_write_text(out / name, (carry / name).read_text())
    snapshot = carried["path"].iloc[-1]
    (out / snapshot.name).write_bytes(snapshot.read_bytes())
    return True


def restore_newest(trainer, out):
    """Restore `trainer` from the newest snapshot in `out` that reads back whole and fits it;
    returns that `Snapshot`, or None when `out` holds no snapshot.

    Each newer one that fails is renamed ``*.unreadable`` with a warning naming it: a later
    snapshot may then take its name, and carrying and pruning never pick it.  When none
    reads, `UnreadableFile` says so and nothing is renamed.
    """
    skipped = []
    for path in reversed(list(list_snapshots(out)["path"])):
        try:
            snap = load_snapshot(path)
            trainer.restore(snap)  # a missing optimiser slot or state entry shows only here
            int(snap.state["tick"])  # and the loop's own entry, which the trainer does not read
        except READ_ERRORS as err:
            skipped.append((path, describe(err, path)))
            continue
        for bad, why in skipped:
            os.replace(bad, bad.with_name(bad.name + DAMAGED_SUFFIX))
            warnings.warn(f"skipping {bad}: unreadable ({why}); resuming from {path.name} "
                          f"(the damaged file is kept as {bad.name}{DAMAGED_SUFFIX})", UnreadableFileWarning)
        return snap
    if skipped:
        raise no_readable_snapshot(out, skipped)
    return None


def no_readable_snapshot(folder, damaged) -> UnreadableFile:
    """The error for a folder whose snapshots, (path, reason) newest first or last, are all damaged."""
    path, why = max(damaged, key=lambda item: snapshot_kimg(item[0].name))
    return UnreadableFile(folder, why, message=f"no readable snapshot in {folder}: all {len(damaged)} are damaged "
                                               f"(the newest, {path.name}: {why})")


def prune_snapshots(out, keep_last, keep) -> None:
    """Delete all but the newest `keep_last` snapshots and those named in `keep` (kimg)."""
    if keep_last is None:
        return
    table = list_snapshots(out)
    picked = {float(k) for k in keep}
    old = table.iloc[:-keep_last] if keep_last else table
    for _, row in old.iterrows():
        if row["kimg"] not in picked and int(row["kimg"]) not in picked:
            Path(row["path"]).unlink()
