import os

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import bayes_mfg  # noqa: E402,F401  (enables float64)
import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "default", deadline=None, max_examples=12, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.load_profile("default")


@pytest.fixture
def rng():
    return np.random.default_rng(20261122)


def dirichlet(rng, d, alpha=1.0):
    return jax.numpy.asarray(rng.dirichlet(alpha * np.ones(d)))
