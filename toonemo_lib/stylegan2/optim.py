"""The optimizers and G's moving average of NVIDIA's training loop: TF1's Adam with lazy
regularisation, and G_ema."""

import tensorflow as tf

# --------------------------------------------------------------------------- optimizers


def lazy_ratio(interval):
    """mb_ratio = k / (k + 1) for a lazy-regularisation interval k; 1 when k is None or 0."""
    if not interval:
        return 1.0
    return float(interval) / (float(interval) + 1.0)


class Adam(tf.Module):
    """TF1's AdamOptimizer, as NVIDIA trains with: one fused `ResourceApplyAdam` per variable.

    lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t); m += (g - m)(1 - beta1);
    v += (g^2 - v)(1 - beta2); var -= lr_t * m / (sqrt(v) + eps) -- epsilon outside the
    bias correction of sqrt(v), as in TF1 and Keras.  Keras' Adam computes the same thing in
    about forty graph ops per variable; on a CPU, where a small StyleGAN2's step is bound by
    the number of ops rather than by arithmetic, that alone doubled the step's time.

    Under a `tf.distribute` strategy it is called in replica context: the gradients are
    summed across replicas and every replica applies the same update to its own copy.
    """

    def __init__(self, learning_rate, beta_1, beta_2, epsilon=1e-8, name="adam"):
        super().__init__(name=name)
        self.learning_rate, self.beta_1 = float(learning_rate), float(beta_1)
        self.beta_2, self.epsilon = float(beta_2), float(epsilon)
        self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False, name="iterations",
                                      aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        self.momenta, self.velocities, self._slots = [], [], {}

    def build(self, var_list) -> None:
        """Create the moments of `var_list` (zeros); call it in the strategy's scope."""
        for var in var_list:
            if id(var) not in self._slots:
                name = var.path.replace("/", "_") if hasattr(var, "path") else var.name.split(":")[0]
                m = tf.Variable(tf.zeros(var.shape, var.dtype), trainable=False, name=f"m_{name}")
                v = tf.Variable(tf.zeros(var.shape, var.dtype), trainable=False, name=f"v_{name}")
                self._slots[id(var)] = (m, v)
                self.momenta.append(m)
                self.velocities.append(v)

    @property
    def variables(self) -> list:
        """The step counter and every moment, in a fixed order (what a snapshot stores)."""
        return [self.iterations, *self.momenta, *self.velocities]

    def apply_gradients(self, grads_and_vars) -> None:
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        self.build([v for _, v in pairs])
        grads = [g for g, _ in pairs]
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            grads = context.all_reduce("sum", grads)
        t = tf.cast(self.iterations + 1, tf.float32)
        lr, beta1, beta2, eps = (tf.constant(x, tf.float32) for x in (
            self.learning_rate, self.beta_1, self.beta_2, self.epsilon))
        beta1_power, beta2_power = tf.pow(beta1, t), tf.pow(beta2, t)
        for grad, (_, var) in zip(grads, pairs):
            m, v = self._slots[id(var)]
            tf.raw_ops.ResourceApplyAdam(var=var.handle, m=m.handle, v=v.handle,
                                         beta1_power=beta1_power, beta2_power=beta2_power,
                                         lr=lr, beta1=beta1, beta2=beta2, epsilon=eps, grad=grad)
        self.iterations.assign_add(1)


def lazy_adam(lr=0.002, beta1=0.0, beta2=0.99, interval=None, epsilon=1e-8, name="adam"):
    """Adam with NVIDIA's lazy-regularisation adjustment.

    lr * mb_ratio, beta1 ** mb_ratio, beta2 ** mb_ratio with mb_ratio = k/(k+1) (k = 16 for
    D, 4 for G).  Use the same optimizer for the main and the regularisation step so they
    share Adam's moments, as NVIDIA does.
    """
    ratio = lazy_ratio(interval)
    return Adam(float(lr) * ratio, float(beta1) ** ratio, float(beta2) ** ratio,
                epsilon=float(epsilon), name=name)


# --------------------------------------------------------------------------- generator EMA


def ema_beta(batch, ema_kimg, cur_nimg=None, rampup=None):
    """0.5 ** (batch / ema_nimg) with ema_nimg = ema_kimg * 1000.

    With `rampup` (0.05 in cfg 'auto'; None for the paper configs and when resuming)
    ema_nimg = min(ema_nimg, cur_nimg * rampup): G_ema follows G closely early on.
    """
    ema_nimg = float(ema_kimg) * 1000.0
    if rampup is not None:
        if cur_nimg is None:
            raise ValueError("ema_beta: the ramp-up needs cur_nimg (images shown so far)")
        ema_nimg = min(ema_nimg, float(cur_nimg) * float(rampup))
    return 0.5 ** (float(batch) / max(ema_nimg, 1e-8))


def update_ema(G_ema, G, beta):
    """G_ema's trainable weights <- lerp(G, G_ema, beta); non-trainable state (w_avg,
    noise constants) copied from G.  Both networks must have the same configuration."""
    pairs = [(G_ema.trainable_weights, G.trainable_weights),
             (G_ema.non_trainable_weights, G.non_trainable_weights)]
    for ema_vars, vars_ in pairs:
        if len(ema_vars) != len(vars_):
            raise ValueError("update_ema: G_ema and G do not have the same weights")
        for ema_var, var in zip(ema_vars, vars_):
            if tuple(ema_var.shape) != tuple(var.shape):
                raise ValueError(f"update_ema: shape mismatch {ema_var.path} {ema_var.shape} "
                                 f"vs {var.path} {var.shape}")
    beta = tf.cast(beta, tf.float32)  # a float, or a tensor inside a tf.function
    for ema_var, var in zip(*pairs[0]):
        value = tf.convert_to_tensor(var)
        ema_var.assign(value + (tf.convert_to_tensor(ema_var) - value) * beta)
    for ema_var, var in zip(*pairs[1]):
        ema_var.assign(tf.convert_to_tensor(var))
