"""polyret: train and evaluate multilingual dense retrievers.

Data flows one way: files -> records (:mod:`polyret.data`) -> batch samplers (:mod:`polyret.sampling`) ->
trainer (:mod:`polyret.training`) -> model (:mod:`polyret.models`) -> embedding store and metrics
(:mod:`polyret.evaluation`) -> report (:mod:`polyret.experiments`).
"""

__version__ = "0.1.0"
