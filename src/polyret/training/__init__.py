"""polyret.training."""
