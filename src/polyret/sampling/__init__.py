"""polyret.sampling."""
