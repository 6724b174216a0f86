"""Names of choices that the command line offers before anything heavy is imported.

A leaf (no imports): ``bayes-mfg --help`` lists these choices without importing JAX, and
the modules that implement them import their names from here.
"""

__all__ = ["GUIDES", "NUTS_INITS", "SYSTEM_NAMES", "TRUTH_CASES"]

#: SVI guides of :func:`bayes_mfg.fit_svi` (``guide=``).
GUIDES = ("delta", "normal", "lowrank", "multivariate")

#: Starts of :func:`bayes_mfg.fit_nuts` (``init=``).
NUTS_INITS = ("prior", "laplace")

#: The reference problems of :mod:`bayes_mfg.problems` (the keys of ``PROBLEMS``).
SYSTEM_NAMES = ("lq", "cybersecurity", "sir", "mobility")

#: The truth cases of the time-varying parameters of the reference problems.
TRUTH_CASES = ("constant", "arc", "mean-field")
