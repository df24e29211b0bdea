"""``polyret train``'s closing summary: printed by rank 0 only under torchrun / accelerate."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from polyret.cli import main
from polyret.training import trainer

SUMMARY = {"wall_time_s": 1.0, "plan_counts": {"de-de": 2}, "unused_pairs_per_epoch": [0]}


@pytest.mark.parametrize(("rank", "printed"), [(None, True), ("0", True), ("1", False)])
def test_only_rank_zero_prints_the_summary(rank, printed, tmp_path, monkeypatch, capsys) -> None:
    outcome = SimpleNamespace(steps=2, summary=SUMMARY, model_dir=tmp_path / "final")
    monkeypatch.setattr(trainer, "train", lambda *args, **kwargs: outcome)
    if rank is None:
        monkeypatch.delenv("RANK", raising=False)
    else:
        monkeypatch.setenv("RANK", rank)
    main(["train", "--model", "m", "--data", "xquad-r", "--languages", "en,de", "--output-dir", str(tmp_path)])
    assert ("trained 2 steps" in capsys.readouterr().out) is printed
