"""``evaluate --debias X --debias-fit-on FILE`` where FILE is the evaluated task file: the methods are fitted on the
test data, so their rows are labelled transductive (results.json, report.md) and one warning says why."""

from __future__ import annotations

import json


def test_fitting_on_the_evaluated_task_file_is_labelled_transductive(cli, tiny_model_dir, qa_file, tmp_path):
    out = tmp_path / "out"
    result = cli("evaluate", "--model", tiny_model_dir, "--task-file", qa_file, "--debias", "lsar",
                 "--debias-fit-on", qa_file, "-o", out)
    assert result.code == 0, result.err
    warnings = [line for line in result.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "evaluated task file of train" in warnings[0] and "transductive" in warnings[0]
    saved = json.loads((out / "results.json").read_text())
    assert "train + lsar (transductive)" in saved["results"] and "train + lsar" not in saved["results"]
    fit = saved["meta"]["debias"]["lsar (transductive)"]["fit"]
    assert fit["transductive"] is True and "evaluated task file of train" in fit["reference"]["transductive"]
    report = (out / "report.md").read_text()
    assert "lsar (transductive)" in report and "transductive: the reference is the evaluated task file" in report
