"""OneIG suite, data files, reference embeddings and the summary on hand-made records (official data read from
shared/, never copied)."""

from __future__ import annotations

import math

import pytest

from lensbench.errors import UserError
from lensbench.scorers.oneig import summary as sm
from lensbench.suites import load_suite, oneig_data


@pytest.fixture
def data(shared_data):
    d = shared_data / "oneig"
    if not d.is_dir():
        pytest.skip("shared/data/oneig missing")
    return d


def test_suite_sizes_order_and_dimension_subsets(data):
    en = load_suite("oneig", None, {"data": str(data)})
    zh = load_suite("oneig", None, {"data": str(data), "language": "zh"})
    assert len(en) == 1120 and len(zh) == 1320
    assert [it.id for it in en.items()[:3]] == ["anime_049", "text_000", "reasoning_000"]  # S, T, KR first
    assert [it.id for it in zh.items()[:4]] == ["anime_049", "text_000", "reasoning_000", "multilingualism_000"]
    assert zh.items()[0].prompt != en.items()[0].prompt and zh.items()[0].metadata["language"] == "zh"
    assert len(load_suite("oneig", None, {"data": str(data), "dimensions": "style"})) == 114
    assert len(load_suite("oneig", None, {"data": str(data), "dimensions": "text,reasoning"})) == 425
    sub = load_suite("oneig", None, {"data": str(data), "language": "zh", "categories": "Multilingualism,human"})
    assert {it.metadata["folder"] for it in sub.items()} == {"multilingualism", "human"} and len(sub) == 444


def test_suite_rejects_bad_options(data):
    for opts, frag in (({"language": "fr"}, "en or zh"), ({"categories": "multilingualism"}, "only in OneIG-Bench-ZH"),
                       ({"dimensions": "beauty"}, "unknown OneIG dimension"), ({"colour": "x"}, "unknown oneig")):
        with pytest.raises(UserError, match=frag):
            load_suite("oneig", None, {"data": str(data), **opts})
    with pytest.raises(UserError, match="does not exist"):
        load_suite("oneig", None, {"data": str(data / "nope")})


def test_pinned_checksums_match_the_official_files(data):
    assert oneig_data.provenance(data)["modified"] == [] and oneig_data.provenance(data)["missing"] == []


def test_offline_download_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match="forbids the download"):
        oneig_data.fetch_oneig_data(tmp_path / "x")


def test_fetch_checks_every_file(tmp_path, monkeypatch, data):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("LENSBENCH_OFFLINE", raising=False)

    def fake(url, dest):  # serve the shared copy, one file tampered
        name = next(n for n, f in oneig_data.FILES.items() if url.endswith(f[0]))
        dest.write_bytes((data / name).read_bytes() + (b" " if name == "style.csv" else b""))

    with pytest.raises(UserError, match="sha256"):
        oneig_data.fetch_oneig_data(tmp_path / "oneig", download=fake)
    assert not (tmp_path / "oneig").exists()


def test_reference_embeddings_load_weights_only_and_refuse_pickles(data, tmp_path):
    import torch

    csd = oneig_data.load_reference_embeddings(data / "CSD_embed.pt")
    se = oneig_data.load_reference_embeddings(data / "SE_embed.pt")
    assert len(csd) == len(se) == 29 and csd["baroque"].shape == (3, 768) and se["lego"].shape == (3, 1280)
    bad = tmp_path / "bad.pt"
    torch.save({"baroque": UserError("needs pickle")}, bad)
    with pytest.raises(UserError, match="weights_only=True"):
        oneig_data.load_reference_embeddings(bad)


def _rec(item_id, **dims):
    folder, oid = item_id.split("_")
    return {"item_id": item_id, "folder": folder, "oneig_id": oid, "status": "ok", **dims}


def test_summary_official_aggregation_and_overall_mean():
    d = {"lang": "en", "text": [("000", "['a b']"), ("001", "['c d e f']")], "subjects": {"000": "physics"}}
    recs = [
        _rec("anime_049", alignment={"score": 0.5}, style={"score": 0.4, "style": "fauvism"}, diversity={"score": 0.2}),
        _rec("human_000", alignment={"score": 1.0}, diversity={"score": 0.4}),
        _rec("text_000", text={"ocr": ["a b", "a"]}, diversity={"score": None}),
        _rec("text_001", text={"ocr": ["x"]}),
        _rec("reasoning_000", reasoning={"score": 0.3}, diversity={"score": 0.3}),
    ]
    out = {(m.metric, m.category): m for m in sm.summarize_records(recs, d, n_boot=200)}
    text = 1 - 3 * (2 / 3) * (5 / 8) / 100
    assert out[("oneig_en", "alignment")].value == 0.75 and out[("oneig_en", "alignment")].n == 2
    assert out[("oneig_en", "text")].value == pytest.approx(text)
    assert out[("oneig_en", "diversity")].value == pytest.approx(0.3)
    assert out[("oneig_en", None)].value == pytest.approx((0.75 + text + 0.3 + 0.4 + 0.3) / 5)
    lo, hi = out[("oneig_en", "alignment")].ci_low, out[("oneig_en", "alignment")].ci_high
    assert 0.5 <= lo <= 0.75 <= hi <= 1.0
    assert out[("oneig_en_text_wac", None)].value == pytest.approx(3 / 8)
    assert out[("oneig_en_text_ed", None)].higher_is_better is False
    assert out[("oneig_en_alignment", "human")].value == 1.0 and out[("oneig_en_style", "fauvism")].value == 0.4
    assert out[("oneig_en_reasoning", "physics")].value == 0.3
    partial = {(m.metric, m.category) for m in sm.summarize_records(recs[:2], d, n_boot=50)}
    assert ("oneig_en", None) not in partial  # no overall without all five dimensions


def test_text_score_is_shown_and_overall_has_no_ci_when_a_dimension_has_one_prompt():
    d = {"lang": "en", "text": [("000", "['a b']"), ("001", "['c d e f']")], "subjects": {"000": "physics", "001": "physics"}}
    one = [_rec("anime_049", alignment={"score": 0.5}, style={"score": 0.4, "style": "fauvism"}, diversity={"score": 0.2}),
           _rec("text_000", text={"ocr": ["a b", "a"]}), _rec("reasoning_000", reasoning={"score": 0.3})]
    out = {(m.metric, m.category): m for m in sm.summarize_records(one, d, n_boot=200)}
    # the official text_score.py "text score" column, under its own name next to ED / CR / WAC
    ts = out[("oneig_en_text_score", None)]
    assert ts.value == pytest.approx(out[("oneig_en", "text")].value) and ts.higher_is_better
    overall = out[("oneig_en", None)]
    assert overall.value is not None and math.isnan(overall.ci_low) and math.isnan(overall.ci_high)
    two = one + [_rec("human_000", alignment={"score": 1.0}, style={"score": 0.6, "style": "fauvism"},
                      diversity={"score": 0.4}),
                 _rec("text_001", text={"ocr": ["c d"]}), _rec("reasoning_001", reasoning={"score": 0.7})]
    o2 = {(m.metric, m.category): m for m in sm.summarize_records(two, d, n_boot=200)}[("oneig_en", None)]
    assert o2.ci_low <= o2.value <= o2.ci_high and o2.ci_low < o2.ci_high


def test_perfect_ocr_of_the_official_targets_scores_one(data):
    import ast

    from lensbench.scorers.oneig import text as tx

    for lang, max_ed in (("en", 100), ("zh", 50)):
        targets = oneig_data.text_targets(data, lang)[:20]
        tiles = []
        for _oid, gt in targets:
            read = "\n".join(ast.literal_eval(gt))  # what a perfect OCR returns: the strings, one per line
            tiles += tx.tile_metrics(gt, [read, read + "\nNo text recognized."])
        s = tx.text_summary(tiles, max_ed)
        assert s["ED"] == 0.0 and s["CR"] == 1.0 and s["WAC"] == 1.0 and s["text score"] == 1.0
    zh_gt = oneig_data.text_targets(data, "zh")[0][1]
    assert " " not in tx.preprocess_string(zh_gt) and "，" not in tx.preprocess_string(zh_gt)


def test_every_official_question_graph_parses_and_scores(data):
    from lensbench.scorers.oneig import alignment as al

    n, differs = 0, 0
    for name in ("anime", "human", "object", "anime_zh", "human_zh", "object_zh", "multilingualism_zh"):
        for key, entry in oneig_data.read_json(data / "Q_D" / f"{name}.json").items():
            g = al.parse_graph(entry, key)
            assert al.prompt_score(g, {q: ["Yes", "Yes"] for q in g.questions})["score"] == 1.0
            # roots (dependency list holds 0) answer No, every other question Yes
            roots = {q for q in g.questions if 0 in g.dependencies.get(q, [])}
            answers = {q: ["No" if q in roots else "Yes"] for q in g.questions}
            ok = [q not in roots and not (set(g.dependencies.get(q, [])) & roots) for q in g.questions]
            assert al.prompt_score(g, answers)["score"] == pytest.approx(sum(ok) / len(ok))
            differs += al.prompt_score(g, answers, cascade=True)["score"] != al.prompt_score(g, answers)["score"]
            n += 1
    assert n == 245 + 244 + 206 + 245 + 244 + 206 + 200
    assert differs > 0  # grandchildren exist: the no-cascade quirk changes real scores
