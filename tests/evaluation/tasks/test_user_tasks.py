"""User task files scored as suite tasks: rows missing languages in the bitext evaluator, every format end to end,
`polyret evaluate --task-file` / `--list-tasks` / `--tasks clsd-wmt21`, and the task catalogue kept true."""

from __future__ import annotations

import json

import numpy as np
import pytest

from polyret.data.clsd import load_clsd
from polyret.data.parallel import load_ntrex, load_tico
from polyret.data.records import ParallelCorpus
from polyret.evaluation.bitext import evaluate_bitext
from polyret.evaluation.catalog import CATALOG, SUITES, TASKS, select_tasks
from polyret.evaluation.suite import SuiteConfig, run_suite
from polyret.evaluation.user_tasks import TaskFileSpec

LANGS = ("de", "en", "fr")


def _ragged(n: int = 6) -> ParallelCorpus:
    texts = {lang: [f"{lang}{i}" for i in range(n)] for lang in LANGS}
    texts["fr"][1] = texts["de"][4] = texts["en"][5] = texts["fr"][5] = None  # row 5 has German only
    return ParallelCorpus("ragged", [f"r{i}" for i in range(n)], texts)


def test_rows_missing_languages_match_brute_force(table_store):
    corpus, rng = _ragged(), np.random.default_rng(3)
    vec = {(lang, i): v / np.linalg.norm(v) for lang in LANGS for i in range(6) for v in [rng.normal(size=5)]}
    present = [(lang, i) for lang in LANGS for i in range(6) if corpus.texts[lang][i] is not None]
    result = evaluate_bitext(corpus, table_store({f"{lang}{i}": vec[lang, i].tolist() for lang, i in present}),
                             name="ragged")
    for src in LANGS:
        for tgt in (t for t in LANGS if t != src):
            rows = [i for i in range(6) if (src, i) in present and (tgt, i) in present]
            hits = [max(rows, key=lambda j: vec[src, i] @ vec[tgt, j]) == i for i in rows]
            assert result.scores[f"{src}-{tgt}.p@1"] == pytest.approx(np.mean(hits))
    aps, spreads = {}, {}
    for lang, i in present:
        order = sorted((p for p in present if p != (lang, i)), key=lambda p: -(vec[lang, i] @ vec[p]))
        ranks = sorted(order.index(p) + 1 for p in present if p[1] == i and p[0] != lang)
        if ranks:
            aps.setdefault(lang, []).append(np.mean([k / r for k, r in enumerate(ranks, start=1)]))
        if len(ranks) > 1:
            spreads.setdefault(lang, []).append(ranks[-1] - ranks[0])
    assert result.scores["multi.map"] == pytest.approx(np.mean([np.mean(v) for v in aps.values()]))
    assert result.scores["multi.bias"] == pytest.approx(np.mean([np.mean(v) for v in spreads.values()]))
    assert result.details["pooled_queries_without_translation"] == 1  # row 5's German sentence
    assert "r5|de" not in result.per_query["multi.ap"] and len(result.per_query["multi.ap"]) == len(present) - 1
    assert result.details["multi_by_lang"]["en"]["bias"] == pytest.approx(np.mean(spreads["en"]))


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def own_files(tmp_path):
    sentences = {"en": ["red shoe", "blue hat", "green coat", "black bag"],
                 "de": ["roter Schuh", "blauer Hut", "grüner Mantel", None],
                 "fr": ["chaussure rouge", "chapeau bleu", None, "sac noir"]}
    rows = [{"id": f"p{i}", "text": {lang: texts[i] for lang, texts in sentences.items()}} for i in range(4)]
    rows.append({"id": "lonely", "text": {"en": "only English"}})
    multiway = _write(tmp_path / "catalogue.jsonl", rows)
    csv = tmp_path / "legal.csv"
    csv.write_text("query,translation,distractor1,distractor2\nroter Schuh,red shoe,red hat,blue shoe\n"
                   "blauer Hut,blue hat,blue hat,red hat\n", encoding="utf-8")
    qa = _write(tmp_path / "faq.jsonl", [
        {"id": "q1", "questions": {"en": "colour?", "de": "Farbe?"}, "answers": {"en": "red", "de": "rot"}},
        {"id": "q2", "questions": {"en": "size?", "de": "Größe?"}, "answers": {"en": "big", "de": "groß"}},
    ])
    return multiway, csv, qa


def test_every_format_gives_a_task_result_with_its_skips(own_files, table_store):
    multiway, csv, qa = own_files
    specs = (TaskFileSpec(str(multiway)), TaskFileSpec(str(csv), languages=("de", "en"), name="legal-de-en"),
             TaskFileSpec(str(qa), format="qa"))
    results = run_suite(table_store({}).encoder, SuiteConfig("own", specs))
    assert list(results) == ["catalogue", "legal-de-en", "faq"]
    shop = results["catalogue"]
    assert shop.main == "p@1" and shop.details["skipped"] == {"rows with fewer than two languages": 1}
    assert shop.details["coverage"] == {"de": 0.75, "en": 1.0, "fr": 0.75} and shop.details["format"] == "multiway"
    assert set(shop.matrices["p@1"]) == set(LANGS) and "multi.map" in shop.scores
    assert set(results["legal-de-en"].scores) == {"de-en.acc", "acc"}
    assert results["legal-de-en"].details["skipped"] == {"items with a distractor equal to the true translation": 1}
    assert {"mono.map", "cross.map", "multi.map"} <= set(results["faq"].scores)


def test_cli_evaluates_a_multiway_file_alone_with_report_and_figures(own_files, tiny_model_dir, tmp_path, cli):
    out = tmp_path / "run"
    argv = ["evaluate", "--model", str(tiny_model_dir), "--task-file", str(own_files[0]), "-o", str(out)]
    result = cli(*argv)
    assert result.code == 0, result.err
    stdout = result.out
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))["results"]
    assert list(results) == ["catalogue"]  # no suite task beside it
    assert {"p@1", "multi.map", "multi.bias"} <= set(results["catalogue"]["scores"])
    assert "skipped 1 rows with fewer than two languages" in stdout
    assert {p.name for p in out.glob("*.png")} == {"catalogue-p-at-1.png", "catalogue-bias.png"}
    assert "Language bias per query language" in (out / "report.md").read_text(encoding="utf-8")


def test_cli_task_file_errors_are_clear(own_files, tiny_model_dir, tmp_path, cli):
    base = ["evaluate", "--model", str(tiny_model_dir), "-o", str(tmp_path / "x")]
    unknown = cli(*base, "--task-file", own_files[0], "--task-format", "xml")
    assert unknown.code == 2 and "not one of multiway" in unknown.err
    bad = _write(tmp_path / "bad.jsonl", [{"id": "a", "text": {"en": "x", "../de": "y"}}])
    broken = cli(*base, "--task-file", bad)
    assert broken.code == 3
    err = broken.err
    assert "bad.jsonl, line 1: language key '../de' is not a language code" in err and "Traceback" not in err


def test_list_tasks_names_every_registered_task_and_suite(cli):
    listed = cli("evaluate", "--list-tasks")
    assert listed.code == 0
    out = listed.out
    for name in (*TASKS, *SUITES):
        assert name in out
    assert "CC0" in out and "1190" in out


def test_held_out_clsd_is_a_registered_task_outside_every_suite(tmp_path, tiny_model_dir, cli):
    assert {"clsd-wmt21", "clsd-wmt21-mt"} <= set(TASKS)
    assert all("clsd-wmt21" not in suite.task_names for suite in SUITES.values())
    assert select_tasks(SUITES["quick"], ["clsd-wmt21", "xquad-r"]).task_names == ["xquad-r", "clsd-wmt21"]
    argv = ["evaluate", "--model", str(tiny_model_dir), "--tasks", "clsd-wmt21", "--data-dir", str(tmp_path)]
    missing = cli(*argv, "-o", tmp_path / "run")
    assert missing.code == 3  # an explicit data dir without the files
    assert "polyret data fetch clsd-wmt2021" in " ".join(missing.err.split())


def test_catalogue_covers_every_task_with_true_sizes(data_dir):
    assert list(CATALOG) == list(TASKS) and all(meta.name == name for name, meta in CATALOG.items())
    assert len(load_clsd(2019, data_dir=data_dir)) == 2 * CATALOG["clsd-wmt19"].rows
    assert len(load_ntrex(CATALOG["ntrex128"].languages, data_dir=data_dir)) == CATALOG["ntrex128"].rows
    assert len(load_tico(CATALOG["tico19"].languages, data_dir=data_dir)) == CATALOG["tico19"].rows
    assert all(CATALOG[name].languages == TASKS[name].languages for name in ("ntrex128", "tico19"))


def test_cli_takes_discrimination_columns_by_name(tmp_path, tiny_model_dir, cli):
    path = tmp_path / "pairs.csv"
    path.write_text("src,ref,bad1,bad2\nroter Schuh,red shoe,red hat,blue shoe\n", encoding="utf-8")
    out = tmp_path / "run"
    argv = ["evaluate", "--model", str(tiny_model_dir), "--task-file", str(path), "--languages", "de,en", "-o",
            str(out), "--task-columns", "query=src,translation=ref,distractors=bad1+bad2"]
    assert cli(*argv).code == 0
    result = json.loads((out / "results.json").read_text(encoding="utf-8"))["results"]["pairs"]
    assert set(result["scores"]) == {"de-en.acc", "acc"} and list(result["per_query"]["acc"]) == ["2|de-en"]
    assert cli(*argv[:-1], "queries=src").code == 2


def test_an_unknown_column_role_is_an_error_in_python_as_on_the_command_line(tmp_path):
    from polyret.data.user_tasks import read_discrimination
    from polyret.errors import UsageError

    path = tmp_path / "pairs.csv"
    path.write_text("src,ref,bad1\nroter Schuh,red shoe,red hat\n", encoding="utf-8")
    with pytest.raises(UsageError, match="unknown column role 'qeury'"):
        TaskFileSpec(str(path), columns={"qeury": "src"})
    with pytest.raises(UsageError, match="unknown column role 'qeury'"):
        read_discrimination(path, languages=["de", "en"], columns={"qeury": "src", "translation": "ref"})
    with pytest.raises(UsageError, match="'distractors' must be a non-empty list"):
        TaskFileSpec(str(path), columns={"distractors": "bad1"})
    assert TaskFileSpec(str(path)).name == "pairs"


def test_cli_writes_the_trec_run_of_a_beir_folder(tmp_path, tiny_model_dir, cli):
    from polyret.evaluation.trec import read_qrels, read_run

    folder = tmp_path / "shop"
    (folder / "qrels").mkdir(parents=True)
    _write(folder / "corpus.jsonl", [{"_id": f"d{i}", "title": "", "text": f"product {i} in red"} for i in range(12)])
    _write(folder / "queries.jsonl", [{"_id": f"q{i}", "text": f"red product {i}"} for i in range(3)])
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"q{i}\td{i}\t1\n" for i in range(3)), encoding="utf-8")
    out = tmp_path / "run"
    argv = ["evaluate", "--model", str(tiny_model_dir), "--task-file", str(folder), "--write-trec-run", "-o", str(out)]
    assert cli(*argv).code == 0
    run, qrels = read_run(out / "trec" / "shop.run"), read_qrels(out / "trec" / "shop.qrels")
    assert set(run) == {"q0", "q1", "q2"} and all(len(docs) == 12 for docs in run.values())
    assert qrels == {f"q{i}": {f"d{i}": 1} for i in range(3)}
