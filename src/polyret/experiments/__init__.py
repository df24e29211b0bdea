"""polyret.experiments."""
