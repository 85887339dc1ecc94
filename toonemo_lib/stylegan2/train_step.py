"""NVIDIA's four training phases of one minibatch, written out to be read (notebook 03).

`Trainer.step` computes these losses compiled, on any `tf.distribute` strategy, with ADA's
augmentations, style mixing and random numbers drawn so that a resumed run repeats itself.
`readable_train_step` leaves all of that out, so that the algorithm fits on one screen, the
way keras-io's StyleGAN example reads its `train_step`.  It trains a `Trainer`'s own
networks with its optimizers (the same lazy-regularisation learning rates and betas), so a
learner can run it beside the fast path and watch the same quantities move.
"""

from __future__ import annotations

import tensorflow as tf

from .loss import d_logistic_loss, g_nonsaturating_loss, path_length_penalty, r1_penalty
from .optim import update_ema


def readable_train_step(trainer, reals) -> dict[str, float]:
    """Train `trainer`'s G and D on one minibatch of uint8 NHWC `reals`; returns each phase's loss."""
    G, D, cfg = trainer.G, trainer.D, trainer.config
    reals = tf.cast(reals, tf.float32) / 127.5 - 1  # pixels to [-1, 1], as G draws them
    batch = reals.shape[0]
    losses = {}

    def descend(optimizer, tape, loss, variables):
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients([(g, v) for g, v in zip(grads, variables) if g is not None])

    # 1. G main: make D take G's fakes for real.  L_G = softplus(-D(G(z)))
    with tf.GradientTape() as tape:
        fakes = G(tf.random.normal([batch, G.latent_size]), noise_mode="random")
        losses["G main"] = g_nonsaturating_loss(D(fakes))
    descend(trainer.opt_G, tape, losses["G main"], trainer.g_vars)

    # 2. G reg, every 4th minibatch: path length on half a batch.  A unit step in w should move
    #    the image by a steady amount: (|J_w^T y| - a)^2, a the running mean of the lengths.
    if trainer.batch_idx % cfg.pl_interval == 0:
        with tf.GradientTape() as tape:
            ws = G.mapping(tf.random.normal([max(1, batch // 2), G.latent_size]))
            penalty, pl_mean, _ = path_length_penalty(G, ws, trainer.pl_mean, cfg.pl_decay, cfg.pl_weight,
                                                      interval=cfg.pl_interval)
        descend(trainer.opt_G, tape, penalty, trainer.g_vars)
        trainer.pl_mean.assign(pl_mean)
        losses["G reg"] = penalty

    # 3. D main: tell reals from fakes.  L_D = softplus(D(G(z))) + softplus(-D(x))
    fakes = G(tf.random.normal([batch, G.latent_size]), noise_mode="random")  # D's step leaves G alone
    with tf.GradientTape() as tape:
        losses["D main"] = d_logistic_loss(D(reals), D(fakes))
    descend(trainer.opt_D, tape, losses["D main"], trainer.d_vars)

    # 4. D reg, every 16th minibatch: R1, gamma/2 |grad_x D(x)|^2 on the reals.
    if cfg.gamma and trainer.batch_idx % cfg.r1_interval == 0:
        with tf.GradientTape() as tape:
            penalty = r1_penalty(D, reals, cfg.gamma, interval=cfg.r1_interval)
        descend(trainer.opt_D, tape, penalty, trainer.d_vars)
        losses["D reg"] = penalty

    # G_ema, the generator the grids show, follows G with a half-life of ema_kimg thousand images.
    update_ema(trainer.G_ema, G, cfg.ema_beta(trainer.cur_nimg, resuming=trainer.resumed))
    trainer.cur_nimg += batch
    trainer.batch_idx += 1
    return {phase: float(loss) for phase, loss in losses.items()}
