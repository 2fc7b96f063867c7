"""Faithfulness review of the OneIG implementation against OneIG-Bench/OneIG-Benchmark @ 41b4983: one hand-made
case per discrepancy found, the expected value derived from the official code (fine_grained_analysis.py,
scripts/*/*_score.py, scripts/utils/utils.py, text2image.py)."""

from __future__ import annotations

import csv

import pytest
from PIL import Image

from lensbench.errors import UserError
from lensbench.scorers.oneig import fine_grained as fg
from lensbench.scorers.oneig import official as of
from lensbench.scorers.oneig import summary as sm


def _rec(item_id, **dims):
    folder, oid = item_id.split("_")
    return {"item_id": item_id, "folder": folder, "oneig_id": oid, "status": "ok", **dims}


# -- grid: the official split cuts W // C x H // R tiles, so a W != H run must compose 2W x 2H ---------------
def test_non_square_tiles_compose_into_a_grid_the_official_split_cuts_back(tmp_path, shared_data):
    from lensbench.suites import load_suite
    from lensbench.suites.grid import compose_grid

    data = shared_data / "oneig"
    if not data.is_dir():
        pytest.skip("shared/data/oneig missing")
    suite = load_suite("oneig", None, {"data": str(data), "model_dir": "m"})
    item = suite.items()[0]
    colours = [(200, 0, 0), (0, 200, 0), (0, 0, 200), (200, 200, 0)]
    rels = []
    for n, c in enumerate(colours):  # 12 wide, 8 high
        rel = suite.image_relpath(item, n)
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (12, 8), c).save(tmp_path / rel)
        rels.append(rel)
    suite.finalize_item(tmp_path, item, rels)
    with Image.open(tmp_path / suite.grid_relpath(item, tmp_path)) as grid:
        grid.load()
        assert grid.size == (24, 16)
        tiles, slots = of.split_grid(grid)  # utils.split_mxn_grid: width // 2, height // 2, row-major
    assert slots == [0, 1, 2, 3] and all(t.size == (12, 8) for t in tiles)
    assert [t.getpixel((5, 3)) for t in tiles] == colours
    with pytest.raises(UserError, match="expected 12x8"):
        compose_grid([Image.new("RGB", (12, 8)), Image.new("RGB", (8, 8))], square=False)
    with pytest.raises(UserError, match="expected 8x8"):  # DPG-Bench keeps refusing W != H
        compose_grid([Image.new("RGB", (8, 8)), Image.new("RGB", (12, 8))])


# -- fine_grained_analysis.py: float(NaN cell) poisons a bucket --------------------------------------------
def test_fine_grained_alignment_bucket_with_an_unscored_prompt_is_nan_officially():
    """alignment_score.py writes None for a prompt whose tiles are all black (a row with an empty cell);
    fine_grained_analysis.py reads it back as NaN and sums float(row) over the bucket: the bucket prints "nan".
    Here: NP = {anime_000 (0.4), anime_001 (all black)}, "T, P" = {anime_002 (0.8)}; short = all three."""
    meta = {"anime_000": {"type": "NP", "prompt_length": "short"},
            "anime_001": {"type": "NP", "prompt_length": "short"},
            "anime_002": {"type": "T, P", "prompt_length": "short"}}
    scores = {"anime_000": 0.4, "anime_001": None, "anime_002": 0.8}
    official = fg.by_tag(scores, meta)
    assert official["NP"] is None and official["short"] is None  # NaN officially: no value
    assert official["T, P"] == 0.8
    fixed = fg.by_tag(scores, meta, missing="skip")  # the recorded fix: leave the unscored prompt out
    assert fixed["NP"] == 0.4 and fixed["short"] == pytest.approx(0.6)

    d = {"lang": "en", "text": [], "subjects": {}, "meta": meta}
    recs = [_rec("anime_000", alignment={"score": 0.4}), _rec("anime_001", alignment={"tiles": 0}),
            _rec("anime_002", alignment={"score": 0.8})]
    out = {(m.metric, m.category): m.value for m in sm.summarize_records(recs, d, n_boot=50)}
    assert out[("oneig_en", "alignment")] == pytest.approx(0.6)  # the headline skips the None row (pandas mean)
    assert ("oneig_en_alignment_fine", "NP") not in out and ("oneig_en_alignment_fine", "short") not in out
    assert out[("oneig_en_alignment_fine", "T, P")] == 0.8
    out = {(m.metric, m.category): m.value
           for m in sm.summarize_records(recs, d, n_boot=50, fine_missing="skip")}
    assert out[("oneig_en_alignment_fine", "NP")] == 0.4
    assert out[("oneig_en_alignment_fine", "short")] == pytest.approx(0.6)


def test_fine_missing_is_a_recorded_logic_option():
    from lensbench.scorers import make_scorer

    assert make_scorer("oneig", {"backend": "tiny"}).settings()["logic"]["fine_missing"] == "nan"
    fixed = make_scorer("oneig", {"backend": "tiny", "fine_missing": "skip"})
    assert any("fine_missing='skip'" in dev for dev in fixed.deviations())


# -- the official per-prompt CSVs keep None rows; diversity_score has a column per class item --------------
def test_official_csvs_keep_none_rows_and_every_diversity_class(tmp_path, shared_data):
    from lensbench.scorers.oneig.official_csv import write_official_csvs

    class _Suite:
        options = {"model_dir": "m"}

    d = {"lang": "en", "text": [], "subjects": {}, "meta": {}}
    recs = [_rec("anime_001", alignment={"tiles": 0}, diversity={"tiles": 0}),
            _rec("anime_000", alignment={"score": 0.5}, diversity={"score": 0.25}),
            _rec("human_000", alignment={"score": 1.0}, diversity={"score": 0.75})]
    write_official_csvs(tmp_path, recs, d, _Suite())
    out = tmp_path / "results" / "oneig"
    rows = list(csv.reader((out / "alignment_prompt_score_EN.csv").open()))
    # alignment_score.py: score_of_prompt_csv.loc[f"{class}_{key}"] = None -> an empty cell, index sorted
    assert rows == [["", "m"], ["anime_000", "0.5"], ["anime_001", ""], ["human_000", "1.0"]]
    assert list(csv.reader((out / "alignment_score_EN.csv").open()))[1] == ["m", "0.75"]
    # diversity_score.py: a grid with < 2 kept tiles gets no row; every class item is a column (None if empty)
    rows = list(csv.reader((out / "diversity_prompt_score_EN.csv").open()))
    assert [r[0] for r in rows[1:]] == ["anime_000", "human_000"]
    head, body = list(csv.reader((out / "diversity_score_EN.csv").open()))
    assert head == ["", "anime", "human", "object", "text", "reasoning", "total average"]
    assert body == ["m", "0.25", "0.75", "", "", "", "0.5"]


def test_text_fine_columns_in_the_official_metric_major_order():
    """handle_text: columns ``[f"{l}_{m}" for m in ("ED", "CR", "WAC") for l in ("short", "middle", "long")]``;
    a length without prompts has no columns ("-")."""
    meta = {"a": {"prompt_length": "short"}, "b": {"prompt_length": "long"}}
    out = fg.text_by_length({"a": [4.0, 0.0, 0.5], "b": [0.0, 1.0, 1.0]}, meta)
    values = [k for k in out if not k.endswith("_n")]
    assert values == ["short_ED", "long_ED", "short_CR", "long_CR", "short_WAC", "long_WAC"]
    assert out["short_n"] == 1 and out["long_WAC"] == 1.0


def test_black_fill_in_a_lossy_webp_grid_is_not_dropped():
    """text2image.py fills a failed image with black and saves lossy .webp; utils.is_black_image needs every
    pixel to be exactly (0, 0, 0), which the decoded fill next to real content is not: the official split keeps
    it (the model scores a near-black image). In a lossless grid the fill is dropped."""
    import io

    import numpy as np

    rng = np.random.default_rng(0)
    grid = Image.new("RGB", (128, 128))
    for x, y in ((0, 0), (64, 0), (0, 64)):
        grid.paste(Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)), (x, y))
    for fmt, kept in (("PNG", [0, 1, 2]), ("WEBP", [0, 1, 2, 3])):
        buf = io.BytesIO()
        grid.save(buf, format=fmt)  # PIL defaults, as text2image.py
        buf.seek(0)
        with Image.open(buf) as im:
            im.load()
            assert of.split_grid(im.convert("RGB"))[1] == kept


def test_published_oneig_baselines_pair_with_the_scorer_metrics_and_overall_is_the_mean_of_five():
    """Every OneIG number in the baselines names a metric/category the scorer emits (so `report --published`
    pairs them), and where a report gives all five dimensions its overall is their mean (to print rounding)."""
    from lensbench.reports.baselines import load_baselines
    from lensbench.scorers.oneig.scorer import OneigScorer

    values = [v for v in load_baselines().values if v.metric.startswith("oneig")]
    assert {v.metric for v in values} == {"oneig_en", "oneig_zh"}
    assert all(v.metric in OneigScorer.metrics_meta and v.category in (None, *of.DIMENSIONS) for v in values)
    groups: dict[tuple, dict] = {}
    for v in values:
        groups.setdefault((v.model, v.metric, v.file, v.entry), {})[v.category] = v.value
    full = [g for g in groups.values() if set(g) == {None, *of.DIMENSIONS}]
    assert len(full) >= 6  # Z-Image / Z-Image-Turbo / Qwen-Image, EN and ZH
    for g in full:
        assert abs(sum(g[d] for d in of.DIMENSIONS) / 5 - g[None]) <= 0.0011
    lens = {(v.metric, v.category): v.value for v in values if v.model == "lens" and v.category is None}
    assert lens[("oneig_en", None)] == 0.557 and lens[("oneig_zh", None)] == 0.525  # Lens paper Table 2


def test_suite_copies_of_the_official_folder_tables_agree_with_the_scorer():
    """suites/ may not import scorers/, so the suite keeps its own copy of the category -> folder table
    (text2image.py class_item, fine_grained_analysis.py SOURCE_ID) and of the folders each dimension reads."""
    from lensbench.suites import oneig as suite

    assert suite.CATEGORY_FOLDER == of.CATEGORY_FOLDER
    for dim, folders in suite.DIMENSION_FOLDERS.items():
        official = set(of.DIMENSION_FOLDERS["en"][dim]) | set(of.DIMENSION_FOLDERS["zh"][dim])
        assert set(folders) == official, dim


def test_records_scored_for_some_dimensions_are_not_reused_for_others(shared_data):
    """A unit record holds only the dimensions it was scored for: scoring with -O dimensions=diversity and then
    with all dimensions must not reuse the first records (the runner reuses records by fingerprint)."""
    from lensbench.scorers import make_scorer
    from lensbench.store.results import fingerprint_id
    from lensbench.suites import load_suite

    full = make_scorer("oneig", {"backend": "tiny"})
    div = make_scorer("oneig", {"backend": "tiny", "dimensions": "diversity"})
    assert "dimensions" not in full.fingerprint()  # all five: fingerprints of default runs unchanged
    assert div.fingerprint()["dimensions"] == ["diversity"]
    assert fingerprint_id(div.fingerprint()) != fingerprint_id(full.fingerprint())
    data = shared_data / "oneig"
    if data.is_dir():  # a suite generated for some dimensions is scored on those: its fingerprint says so
        suite = load_suite("oneig", None, {"data": str(data), "dimensions": "text,style"})
        sc = make_scorer("oneig", {"backend": "tiny"})
        sc.units(suite, [])
        assert sc.fingerprint()["dimensions"] == ["style", "text"]
