"""Models: loading sentence-transformers encoders by path, name or alias; packaged offline weights; test models."""
