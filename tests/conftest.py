import gc
import os

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

import bayes_mfg  # noqa: E402,F401  (enables float64)

settings.register_profile(
    "default", deadline=None, max_examples=12, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.load_profile("default")


def memory_mappings() -> int:
    """Number of memory mappings of this process (0 where /proc is not available)."""
    try:
        with open("/proc/self/maps") as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drop JAX's compiled programs after a test module once the process holds many mappings.

    Every compiled XLA:CPU program keeps memory mappings for its code; a pytest worker that
    compiles hundreds of models crosses the kernel's per-process limit (vm.max_map_count,
    65530 by default: one test file here leaves ~19,000), after which LLVM cannot map new
    code and the worker dies with SIGSEGV/SIGABRT inside XLA compilation. Clearing after
    every module would cost recompilations (~80 s of CI); clearing past 30,000 mappings leaves
    room for a module as heavy as test_calibration.py (~19,000, measured) twice over.
    """
    yield
    if memory_mappings() > 30_000:
        jax.clear_caches()
        gc.collect()


@pytest.fixture
def rng():
    return np.random.default_rng(20261122)


def dirichlet(rng, d, alpha=1.0):
    return jax.numpy.asarray(rng.dirichlet(alpha * np.ones(d)))


def pytest_collection_modifyitems(session, config, items):
    """Longest first: the notebooks (1-2 min each) start before the unit tests, so that the
    two xdist workers do not end with one of them running a notebook alone."""
    items.sort(key=lambda item: 0 if item.nodeid.startswith("tests/test_notebooks.py") else 1)


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("BAYES_MFG_REPORT_MAPS"):
        print(f"\n[maps] {os.getpid()}: {memory_mappings()} memory mappings", flush=True)
