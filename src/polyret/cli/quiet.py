"""Keep the console to polyret's own lines: the libraries underneath (transformers, sentence-transformers, the
Hugging Face Hub, tqdm) print progress bars, advisory warnings and retry lines that say nothing to a polyret user.

Called by the CLI before any of those libraries is imported, so their import-time settings (environment variables)
take effect; already imported ones are silenced through their own switches. ``--verbose``/``--debug`` skip it.
"""

from __future__ import annotations

import logging
import os
import sys

QUIET_ENVIRONMENT = {
    "TQDM_DISABLE": "1",  # every tqdm bar: "Computing widget examples", "Writing model shards", "Batches"
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",  # e.g. "The tokenizer has new PAD/BOS/EOS tokens ..."
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "HF_HUB_VERBOSITY": "error",  # offline retry lines
    "TOKENIZERS_PARALLELISM": "false",
}
NOISY_LOGGERS = ("transformers", "sentence_transformers", "huggingface_hub", "datasets", "accelerate", "filelock")


def quiet_libraries(*, verbose: bool) -> None:
    """Silence the libraries' progress bars and below-error log lines, unless ``verbose`` (user's env wins)."""
    if verbose:
        return
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    if "transformers" in sys.modules:
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
    if "huggingface_hub" in sys.modules:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
