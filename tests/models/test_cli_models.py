"""The ``polyret models`` commands."""

from __future__ import annotations

import pytest

from polyret.cli import main


def test_list_shows_every_alias_with_its_licence(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    main(["models", "list"])
    out = capsys.readouterr().out
    for expected in ("multilingual-e5-small", "use-multilingual", "MIT", "Apache-2.0"):
        assert expected in out


def test_prepare_prints_the_model_directory_last(e5_dir, capsys):
    main(["models", "prepare", "multilingual-e5-small"])
    assert capsys.readouterr().out.splitlines()[-1] == str(e5_dir)


def test_prepare_of_an_unknown_alias_exits_with_the_model_error_code(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["models", "prepare", "no-such-alias"])
    assert exit_info.value.code == 4
    assert "unknown model alias" in capsys.readouterr().err
