"""Data layer: typed records, loaders per format, the data-set registry, splits and validation."""

from polyret.data.records import DiscriminationItem, ParallelCorpus, ParallelQA, Passage, Query, RetrievalTask

__all__ = ["DiscriminationItem", "ParallelCorpus", "ParallelQA", "Passage", "Query", "RetrievalTask"]
