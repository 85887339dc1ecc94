"""The run folder: the check that it holds this run, snapshot pruning, and carrying a run
between sessions (`carry_run`, `continue_carried_run`)."""

import os
from pathlib import Path

from .. import runs
from .snapshot import list_snapshots
from .spec import IDENTITY


class RunMismatchError(ValueError):
    """The run folder holds a run started with other data or settings."""


def check_same_run(out, identity) -> None:
    """Refuse a run folder whose config.json records other data or settings."""
    recorded = runs.read_json(Path(out) / runs.CONFIG)
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
    own snapshots; returns whether it did."""
    carry, out = Path(carry), Path(out)
    carried, own = list_snapshots(carry), list_snapshots(out)  # empty for a missing folder
    if not len(carried):
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
