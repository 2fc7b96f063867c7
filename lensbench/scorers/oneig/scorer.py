"""The OneIG-Bench scorer: one unit per prompt grid (key ``oneig/<folder>_<id>``), every dimension the prompt
belongs to scored on its kept tiles by the dimension's backend; official aggregation in `summary`.

Records keep the raw model outputs (answers, OCR texts, similarities, style similarities, distances), so the
cross-prompt official quirks (the text stale-OCR rule in CSV order) are applied in the pure summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.scorers.base import MetricMeta, PairedRule, ProtocolInfo, Scorer, ScoreUnit
from lensbench.scorers.oneig import alignment as al
from lensbench.scorers.oneig import backends as bk
from lensbench.scorers.oneig import official as of
from lensbench.scorers.oneig import similarity as sim
from lensbench.scorers.oneig import text as tx
from lensbench.scorers.oneig.options import OFFICIAL_LOGIC, OneigOptions
from lensbench.store.results import MetricValue
from lensbench.suites import oneig_data
from lensbench.suites.base import Suite

_DIM_DISPLAY = {d: d.capitalize() for d in of.DIMENSIONS}
FOLDER_OF = of.CATEGORY_FOLDER


def _meta(lang: str) -> dict[str, MetricMeta]:
    L = f"oneig_{lang}"
    return {
        L: MetricMeta(f"OneIG-{lang.upper()}", canonical=L, categories=of.DIMENSIONS, category_display=_DIM_DISPLAY),
        f"{L}_alignment": MetricMeta(f"OneIG-{lang.upper()} alignment by class"),
        f"{L}_text_ed": MetricMeta(f"OneIG-{lang.upper()} text ED", higher_is_better=False, unit="characters"),
        f"{L}_text_cr": MetricMeta(f"OneIG-{lang.upper()} text CR"),
        f"{L}_text_wac": MetricMeta(f"OneIG-{lang.upper()} text WAC"),
        f"{L}_text_score": MetricMeta(f"OneIG-{lang.upper()} text score"),
        f"{L}_reasoning": MetricMeta(f"OneIG-{lang.upper()} reasoning by subject"),
        f"{L}_style": MetricMeta(f"OneIG-{lang.upper()} style by style"),
        f"{L}_diversity": MetricMeta(f"OneIG-{lang.upper()} diversity by class"),
        f"{L}_alignment_fine": MetricMeta(f"OneIG-{lang.upper()} alignment by prompt type / length"),
        f"{L}_diversity_fine": MetricMeta(f"OneIG-{lang.upper()} diversity by prompt type / length"),
        f"{L}_text_fine": MetricMeta(f"OneIG-{lang.upper()} text by prompt length (prompt means)"),
        f"{L}_style_type": MetricMeta(f"OneIG-{lang.upper()} style by style type"),
    }


class OneigScorer(Scorer):
    name = "oneig"
    version = "1"
    batch_size = 2
    Options = OneigOptions
    metrics_meta = {**_meta("en"), **_meta("zh"),
                    "oneig_alignment": MetricMeta("OneIG alignment (paired-delta metric)")}
    #: paired deltas on the alignment dimension (a mean over prompts); the 5-dimension overall has no
    #: per-prompt form (each dimension aggregates over its own prompt set)
    paired_rule = PairedRule("oneig_alignment", "mean", field="alignment_score")

    def __init__(self, options: dict[str, Any] | None = None):
        self.options: OneigOptions = self.parse(options)
        bad = [d for d in self.options.dimensions if d not in of.DIMENSIONS]
        if bad:
            raise UserError(f"unknown OneIG dimension(s) {', '.join(bad)}; known: {', '.join(of.DIMENSIONS)}")
        self.grid = self.options.grid_size()
        preset = bk.PRESETS[self.options.backend]
        self.names = {k: (getattr(self.options, k) or preset[k]) for k in bk.REGISTRY_OF}
        self.names = {k: bk.REGISTRY_OF[k].canonical(v) for k, v in self.names.items()}
        self.backends = {k: bk.make(k, v, self.options) for k, v in self.names.items()}
        self._loaded: set[str] = set()
        self._data: dict[str, Any] = {}
        self._suite: Suite | None = None

    # -- data -----------------------------------------------------------------------------------------
    def _suite_data(self, suite: Suite) -> dict[str, Any]:
        lang = suite.options.get("language", "en")
        data = Path(suite.options["data"])
        key = f"{data}|{lang}"
        if key not in self._data:
            rows = oneig_data.read_csv(data / oneig_data.PROMPT_CSV[lang])
            graphs = {}
            for folder in of.DIMENSION_FOLDERS[lang]["alignment"]:
                p = oneig_data.qd_path(data, folder, lang)
                if p.is_file():
                    for oid, entry in oneig_data.read_json(p).items():
                        graphs[f"{folder}_{oid}"] = entry
            self._data[key] = {"lang": lang, "data": data, "graphs": graphs,
                               "text": oneig_data.text_targets(data, lang),
                               "answers": oneig_data.reasoning_answers(data, lang),
                               "styles": oneig_data.style_classes(data),
                               "subjects": {r["id"]: r.get("class") or "" for r in rows
                                            if r.get("category") == "Knowledge_Reasoning"},
                               "meta": {f"{FOLDER_OF.get(r.get('category'), '?')}_{r.get('id')}":
                                        {"type": r.get("type") or "", "prompt_length": r.get("prompt_length") or ""}
                                        for r in rows}}
        return self._data[key]

    def dims_of(self, item, d: dict[str, Any]) -> list[str]:
        folder, oid = item.metadata["folder"], item.metadata["oneig_id"]
        lang = d["lang"]
        out = []
        if folder in of.DIMENSION_FOLDERS[lang]["alignment"] and item.id in d["graphs"]:
            out.append("alignment")
        if folder == "text":
            out.append("text")
        if folder == "reasoning" and oid in d["answers"]:
            out.append("reasoning")
        if folder == "anime" and of.style_key(d["styles"].get(oid)) is not None:
            out.append("style")
        if folder in of.DIMENSION_FOLDERS[lang]["diversity"]:
            out.append("diversity")
        wanted = self.wanted_dims
        return [x for x in out if not wanted or x in wanted]

    @property
    def wanted_dims(self) -> tuple[str, ...]:
        """-O dimensions, else the suite's -S dimensions (a suite generated for some dimensions is scored on
        those), else all."""
        return tuple(self.options.dimensions) or tuple(getattr(self, "_suite_dims", ()))

    # -- units ----------------------------------------------------------------------------------------
    def units(self, suite: Suite, generation_records: Sequence[dict[str, Any]]) -> list[ScoreUnit]:
        if getattr(suite, "name", None) != "oneig":
            raise UserError(f"the oneig scorer reads OneIG runs; this run's suite is {suite.name!r}")
        d = self._suite_data(suite)
        self._suite_dims = tuple(suite.options.get("dimensions") or ())
        items = {it.id: it for it in suite.items()}
        by_item: dict[str, list[dict[str, Any]]] = {}
        for rec in generation_records:
            if rec.get("status") == "ok" and rec.get("item_id") in items:
                by_item.setdefault(rec["item_id"], []).append(rec)
        units = []
        full = max((len(v) for v in by_item.values()), default=0)
        for item_id in sorted(by_item):
            item = items[item_id]
            recs = sorted(by_item[item_id], key=lambda r: r.get("index", 0))
            if len(recs) < full and not recs[0].get("grid"):
                continue  # an image failed: no complete grid; officially a missing image leaves the prompt out
            dims = self.dims_of(item, d)
            if not dims:
                continue
            discovered = recs[0]["image"] if recs[0].get("grid") else None  # a foreign official-layout grid
            images = (discovered,) if discovered else tuple(r["image"] for r in recs)
            units.append(ScoreUnit(f"oneig/{item_id}", item, images,
                                   {"dims": dims, "seeds": [r.get("seed") for r in recs], "grid": discovered}))
        self._suite = suite
        return units

    def grid_path(self, run_dir, unit: ScoreUnit) -> str:
        """The official grid the unit is scored from: a discovered file, or the run's official-layout grid."""
        if unit.info.get("grid"):
            return unit.info["grid"]
        return self._suite.grid_relpath(unit.item, Path(run_dir))

    # -- scoring --------------------------------------------------------------------------------------
    def load(self) -> None:
        """Backends load lazily per dimension (a run that scores no text never loads the OCR model)."""

    def _backend(self, kind: str):
        b = self.backends[kind]
        if kind not in self._loaded:
            b.load()
            self._loaded.add(kind)
        return b

    def tiles_of(self, path: Path) -> tuple[list, list[int], list[int]]:
        from PIL import Image

        with Image.open(path) as im:
            im.load()
            grid = im if im.mode == "RGB" else im.copy()
            kept, slots = of.split_grid(grid, self.grid)
        if self.options.jpeg_tiles:
            kept = [of.jpeg_roundtrip(t.convert("RGB") if t.mode not in ("RGB", "L") else t) for t in kept]
        return kept, slots, list(grid.size)

    def score_batch(self, run_dir, units: Sequence[ScoreUnit]) -> list[dict[str, Any]]:
        out = []
        for unit in units:
            rec: dict[str, Any] = {"item_id": unit.item.id, "folder": unit.item.metadata["folder"],
                                   "oneig_id": unit.item.metadata["oneig_id"], "image": self.grid_path(run_dir, unit),
                                   "dims": list(unit.info["dims"]), "seeds": unit.info.get("seeds")}
            path = Path(rec["image"])
            path = path if path.is_absolute() else Path(run_dir) / path
            if not path.is_file():
                raise UserError(f"the OneIG grid {rec['image']} is missing (its tiles exist); re-run the same "
                                "`lensbench generate` command with --verify to rebuild it, then score again")
            try:
                tiles, slots, size = self.tiles_of(path)
            except (OSError, ValueError) as exc:
                raise UserError(f"cannot read the OneIG grid {path} ({exc}); re-run the same `lensbench generate` "
                                "command with --verify to rebuild it, then score again") from None
            rec.update(grid_size=size, kept_slots=slots)
            for dim in unit.info["dims"]:
                rec[dim] = getattr(self, f"_score_{dim}")(unit, tiles) if tiles else {"tiles": 0}
            if "alignment" in rec and rec["alignment"].get("score") is not None:
                rec["alignment_score"] = rec["alignment"]["score"]
            out.append(rec)
        return out

    def _score_alignment(self, unit, tiles) -> dict[str, Any]:
        d = self._data_for(unit)
        graph = al.parse_graph(d["graphs"][unit.item.id], unit.item.id)
        vqa = self._backend("vqa")
        answers = {qid: vqa.answer(tiles, q) for qid, q in graph.questions.items()}
        res = al.prompt_score(graph, answers, match=self.options.answer_match, cascade=self.options.cascade)
        return {"score": res["score"], "tile_scores": res["tile_scores"],
                "answers": {str(k): v for k, v in answers.items()}}

    def _data_for(self, unit) -> dict[str, Any]:
        lang = unit.item.metadata.get("language", "en")
        return next(v for k, v in self._data.items() if not k.startswith("refs|") and v["lang"] == lang)

    def _score_text(self, unit, tiles) -> dict[str, Any]:
        d = self._data_for(unit)
        gt = dict(d["text"]).get(unit.item.metadata["oneig_id"])
        if gt is None:
            return {"excluded": "id not in text_content.csv"}
        return {"ocr": self._backend("ocr").read(tiles, tx.max_new_tokens(gt)), "max_new_tokens": tx.max_new_tokens(gt)}

    def _score_reasoning(self, unit, tiles) -> dict[str, Any]:
        d = self._data_for(unit)
        sims = self._backend("reasoning_model").similarities(tiles, d["answers"][unit.item.metadata["oneig_id"]])
        return {"similarities": sims, "score": sim.reasoning_prompt(sims)}

    def _score_style(self, unit, tiles) -> dict[str, Any]:
        d = self._data_for(unit)
        style = of.style_key(d["styles"].get(unit.item.metadata["oneig_id"]))
        refs = self._references(d["data"])
        if style not in refs["csd"] or style not in refs["se"]:
            raise UserError(f"style {style!r} has no reference embedding in CSD_embed.pt / SE_embed.pt; restore the official files")
        import torch

        enc = self._backend("style_model")
        # official dtypes: CSD float32 x float32 reference; StyleEncoder bfloat16 x the bfloat16 SE_embed.pt
        csd_ref, se_ref = refs["csd"][style].float(), refs["se"][style].to(torch.bfloat16)
        tiles_out = []
        for t in tiles:
            e_csd, e_se = enc.embed(t)
            c = (e_csd.float().reshape(1, -1) @ csd_ref.T).reshape(-1).tolist()
            s = (e_se.to(torch.bfloat16).reshape(1, -1) @ se_ref.T).float().reshape(-1).tolist()
            tiles_out.append({"csd": c, "se": s, "score": sim.style_tile(c, s)})
        return {"style": style, "tiles": tiles_out, "score": sim.style_prompt([t["score"] for t in tiles_out])}

    def _references(self, data: Path) -> dict[str, Any]:
        key = f"refs|{data}"
        if key not in self._data:
            self._data[key] = {"lang": None, "csd": oneig_data.load_reference_embeddings(data / "CSD_embed.pt"),
                               "se": oneig_data.load_reference_embeddings(data / "SE_embed.pt")}
        return self._data[key]

    def _score_diversity(self, unit, tiles) -> dict[str, Any]:
        if len(tiles) <= 1:
            return {"skipped": "fewer than 2 kept tiles (official: skipped)", "score": None}
        dist = self._backend("diversity_model")
        pairs = sim.pairs(len(tiles))
        ds = [float(dist.distance(tiles[i], tiles[j])) for i, j in pairs]
        return {"pairs": [list(p) for p in pairs], "distances": ds, "score": sim.diversity_prompt(ds)}

    # -- results --------------------------------------------------------------------------------------
    def summarize(self, records: Sequence[dict[str, Any]], suite: Suite) -> list[MetricValue]:
        from lensbench.scorers.oneig.summary import summarize_records

        d = self._suite_data(suite)
        return summarize_records(records, d, black_grid=self.options.black_grid, n_boot=self.options.n_boot,
                                 seed=self.options.ci_seed, alpha=self.options.alpha,
                                 fine_missing=self.options.fine_missing)

    def coverage_extra(self, suite: Suite, scored_units, cov: dict[str, Any]) -> dict[str, Any]:
        """Called by lensbench.scorers.coverage.build_coverage: OneIG's per-dimension coverage."""
        from lensbench.scorers.oneig.summary import coverage_extra

        return coverage_extra(self, suite, scored_units, cov, self._suite_data(suite))

    def finalize(self, run_dir, records: Sequence[dict[str, Any]], suite: Suite) -> None:
        from lensbench.scorers.oneig.official_csv import write_official_csvs

        write_official_csvs(Path(run_dir), records, self._suite_data(suite), suite, self.options.black_grid)

    def deviations(self) -> list[str]:
        dev = []
        for kind, name in self.names.items():
            if name != bk.OFFICIAL_NAMES[kind]:
                dev.append(f"{kind} backend {name!r} instead of the official {bk.OFFICIAL_NAMES[kind]!r}")
        o = self.options
        defaults = OneigOptions()
        for key in ("qwen_model", "llm2clip_model", "llm2clip_llm", "style_encoder", "csd_arch"):
            if getattr(o, key) != getattr(defaults, key):
                dev.append(f"{key}={getattr(o, key)!r} instead of {getattr(defaults, key)!r}")
        for key, value in OFFICIAL_LOGIC.items():
            if getattr(o, key) != value:
                dev.append(f"{key}={getattr(o, key)!r} (official: {value!r})")
        return dev

    def settings(self) -> dict[str, Any]:
        return {
            "backends": {k: b.describe() for k, b in self.backends.items()},
            "logic": {k: getattr(self.options, k) for k in OFFICIAL_LOGIC},
            "dimensions": list(self.options.dimensions) or list(of.DIMENSIONS),
            "bootstrap": {"n_boot": self.options.n_boot, "seed": self.options.ci_seed, "alpha": self.options.alpha,
                          "unit": "prompt"},
            "official_source": of.OFFICIAL_SOURCE,
            "deviations": self.deviations(),
        }

    def fingerprint(self) -> dict[str, Any]:
        s = self.settings()
        fp = {"scorer": self.name, "version": self.version, "backends": s["backends"], "logic": s["logic"]}
        dims = sorted(set(self.wanted_dims))
        if dims and set(dims) != set(of.DIMENSIONS):  # a record holds only the dimensions it was scored for
            fp["dimensions"] = dims
        return fp

    def protocol(self) -> ProtocolInfo:
        judges = list(dict.fromkeys(b.judge for b in self.backends.values() if b.judge))
        backend = "official" if all(self.names[k] == v for k, v in bk.OFFICIAL_NAMES.items()) else \
            ",".join(f"{k}={v}" for k, v in self.names.items())
        return ProtocolInfo(backend=backend, judge=", ".join(judges) or None, deviations=tuple(self.deviations()))

    def discover(self, run_dir):
        """(suite, records) for a folder in the official layout made by another tool (-O data= language=)."""
        from lensbench.scorers.oneig.discover import discover_layout

        return discover_layout(self, Path(run_dir))

    def doctor_checks(self, *, load: bool = False) -> list[tuple[str, str, str, str]]:
        """(what, status, detail, fix) per backend, read by `lensbench doctor`."""
        from lensbench.scorers.oneig.backends_hf import availability

        return availability(self, load=load)

    def downloads(self) -> list[dict[str, Any]]:
        from lensbench.scorers.oneig.backends_hf import downloads

        return downloads(self)


def make_scorer(options: dict[str, Any] | None = None) -> OneigScorer:
    """Scorer factory (registered as "oneig" in SCORERS)."""
    return OneigScorer(options)
