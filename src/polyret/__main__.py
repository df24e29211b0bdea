"""``python -m polyret`` runs the CLI (also under ``torchrun``)."""

from polyret.cli import main

main()
