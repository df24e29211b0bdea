"""Evaluation: encode-once embedding store, exact/FAISS retrieval, metrics, language bias, task evaluators."""
