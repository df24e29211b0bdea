"""TrainConfig: checked loading from YAML/TOML, saving, and the paper preset."""

from __future__ import annotations

import pytest

from polyret.errors import UsageError
from polyret.training import PAPER_HELD_OUT_LANGUAGES, TrainConfig


def test_yaml_round_trip_keeps_every_option(tmp_path):
    config = TrainConfig(model="m", sampler="cross_lingual", languages=["en", "de"], max_steps=10, alpha=0.3)
    config.save(tmp_path / "c.yaml")
    assert TrainConfig.load(tmp_path / "c.yaml") == config


def test_toml_config_is_read(tmp_path):
    (tmp_path / "c.toml").write_text('model = "m"\nbatch_size = 8\nexclude_languages = ["el"]\n', encoding="utf-8")
    config = TrainConfig.load(tmp_path / "c.toml")
    assert (config.batch_size, config.exclude_languages) == (8, ["el"])


@pytest.mark.parametrize(
    ("text", "key"),
    [("modle: m\n", "modle"), ("batch_size: '8'\n", "batch_size"), ("alpha: true\n", "alpha"),
     ("languages: en\n", "languages"), ("sampler: bilingual\n", "sampler"), ("alpha: 2\n", "alpha"),
     ("sampler: multi_positive\nbatch_size: 10\n", "batch_size"), ("positives_per_query: 0\n", "positives_per_query"),
     ("sampler: multi_positive\nsymmetric: true\n", "sampler")],
)
def test_unknown_keys_wrong_types_and_bad_values_name_the_key(tmp_path, text, key):
    (tmp_path / "c.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=f"'{key}'"):
        TrainConfig.load(tmp_path / "c.yaml")


def test_paper_preset_and_flag_overrides():
    config = TrainConfig.paper("m")
    assert (config.lr, config.batch_size, config.weight_decay, config.sampler, config.alpha) == (
        3e-5, 100, 0.01, "hybrid", 0.5)
    assert config.exclude_languages == list(PAPER_HELD_OUT_LANGUAGES)
    changed = config.replace(lr=1e-4, seed=None)
    assert changed.lr == 1e-4 and changed.seed == config.seed
    with pytest.raises(UsageError, match="'lr'"):
        config.replace(lr="fast")
