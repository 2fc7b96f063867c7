"""GenEval model backends: mmdet-style post-processing, label mapping, crops, batched colour heads, tiny models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from lensbench.errors import UnknownNameError, UserError
from lensbench.scorers.geneval.color import TEMPLATES, ClipColorClassifier, ColorRequest, object_crop
from lensbench.scorers.geneval.decision import COLORS, KeptObject, select_detections
from lensbench.scorers.geneval.detector import instance_postprocess, make_detector, mask_to_boxes
from lensbench.scorers.geneval.labels import GENEVAL_CLASSES, map_labels
from lensbench.scorers.geneval.tools import agreement


def test_mask_to_boxes_uses_mmdet_plus_one_and_zero_for_empty():
    m = torch.zeros((2, 6, 8), dtype=torch.bool)
    m[0, 1:3, 2:5] = True  # rows 1-2, cols 2-4
    assert mask_to_boxes(m).tolist() == [[2.0, 1.0, 5.0, 3.0], [0.0, 0.0, 0.0, 0.0]]


def test_instance_postprocess_scores_boxes_crop_and_label_mapping():
    # 2 queries, 3 classes + no-object. Query 0 -> class 1 ("bicycle"), query 1 -> class 2 (unmapped, dropped).
    cls = torch.tensor([[0.0, 4.0, 0.0, 0.0], [0.0, 0.0, 5.0, 0.0]])
    masks = torch.full((2, 8, 8), -3.0)
    masks[0, 0:2, 1:4] = 2.0  # inside the valid (top 4 rows) region
    masks[0, 6:8, 6:8] = 2.0  # in the padding: must be cropped away
    out = instance_postprocess(cls, masks, (8, 8), (4, 8), (4, 8), {0: "person", 1: "bicycle"}, max_per_image=100)
    assert list(out.boxes) == ["person", "bicycle"]  # GenEval class order
    bike = out.boxes["bicycle"]  # (query 0, bicycle) and the improbable (query 1, bicycle) pair
    assert bike.dtype == np.float32 and bike.shape == (2, 5)
    p = torch.softmax(cls[0], 0)[1].item()
    mask_score = torch.sigmoid(torch.tensor(2.0)).item()
    assert bike[0, :4].tolist() == [1.0, 0.0, 4.0, 2.0]
    assert bike[0, 4] == pytest.approx(p * mask_score, rel=1e-5)
    assert bike[1].tolist() == [0.0] * 5  # query 1's mask is empty: zero box, zero score
    assert out.masks["bicycle"].shape == (2, 4, 8) and out.masks["bicycle"][0].sum() == 6
    # every candidate but (query 0, bicycle) has class probability < 0.3: the prune drops them before masks
    pruned = instance_postprocess(cls, masks, (8, 8), (4, 8), (4, 8), {0: "person", 1: "bicycle"}, min_score=0.3)
    assert list(pruned.boxes) == ["bicycle"]
    np.testing.assert_array_equal(pruned.boxes["bicycle"], bike[:1])


def test_pruning_never_changes_kept_detections():
    g = torch.Generator().manual_seed(0)
    cls = torch.randn(20, 81, generator=g) * 4
    masks = torch.randn(20, 16, 16, generator=g) * 3
    mapping = dict(enumerate(GENEVAL_CLASSES))
    full = instance_postprocess(cls, masks, (64, 64), (64, 64), (64, 64), mapping)
    pruned = instance_postprocess(cls, masks, (64, 64), (64, 64), (64, 64), mapping, min_score=0.3)
    for tag in ("single_object", "counting"):
        a = select_detections(full.boxes, tag, masks=full.masks)
        b = select_detections(pruned.boxes, tag, masks=pruned.masks)
        assert {k: [o.box.tolist() for o in v] for k, v in a.items()} == {k: [o.box.tolist() for o in v] for k, v in b.items()}
    assert sum(len(v) for v in full.boxes.values()) > sum(len(v) for v in pruned.boxes.values())


def test_label_mapping_by_name_alias_and_index():
    coco = {i: {"computer mouse": "mouse", "tv remote": "remote", "computer keyboard": "keyboard"}.get(n, n)
            for i, n in enumerate(GENEVAL_CLASSES)}
    assert map_labels(coco) == dict(enumerate(GENEVAL_CLASSES))
    shuffled = {i: coco[79 - i] for i in range(80)}
    shuffled[79 - 62] = "tvmonitor"  # "tv" under another spelling, at another index
    assert map_labels(shuffled)[79 - 62] == "tv" and map_labels(shuffled)[0] == "toothbrush"
    assert map_labels({i: f"LABEL_{i}" for i in range(80)}) == dict(enumerate(GENEVAL_CLASSES))
    with pytest.raises(UserError, match="do not cover GenEval classes"):
        map_labels({0: "person", 1: "cat"})
    with pytest.raises(UserError, match="label_map"):
        map_labels(coco, "names")


def test_object_crop_composites_mask_over_grey_then_crops():
    img = Image.fromarray(np.full((4, 6, 3), 10, dtype=np.uint8))
    mask = np.zeros((4, 6), dtype=bool)
    mask[1, 1] = True
    out = np.asarray(object_crop(img, KeptObject(np.array([0, 0, 3, 2, 0.9], np.float32), mask)))
    assert out.shape == (2, 3, 3)
    assert out[1, 1].tolist() == [10, 10, 10] and out[0, 0].tolist() == [153, 153, 153]  # #999
    assert np.asarray(object_crop(img, KeptObject(np.array([0, 0, 3, 2, 0.9]), mask), bgcolor="original")).max() == 10
    assert object_crop(img, KeptObject(np.array([0.4, 0.6, 2.5, 3.5, 0.9]), None)).size == (2, 3)  # PIL rounds the box
    assert object_crop(img, KeptObject(np.array([0, 0, 3, 2, 0.9]), mask), crop=False).size == (6, 4)
    assert object_crop(img, KeptObject(np.array([2, 2, 2, 2, 0.9]), None)).size == (1, 1)  # degenerate box


class _FakeClip:
    """Text embedding: one-hot of the colour word's index; image embedding: one-hot of the crop's mean red level."""

    def __init__(self):
        self.texts = []

    def encode_text(self, tokens):
        return tokens.float()

    def encode_image(self, batch):
        idx = (batch[:, 0, 0, 0] * 9).round().long()
        return torch.nn.functional.one_hot(idx, len(COLORS)).float()


def _fake_classifier(seen):
    clf = ClipColorClassifier("fake", "none", device="cpu", batch_size=3)

    def tokenizer(texts):
        seen.extend(texts)
        return torch.stack([torch.nn.functional.one_hot(torch.tensor(next(i for i, c in enumerate(COLORS) if f" {c}" in t)),
                                                        len(COLORS)) for t in texts])

    clf._model, clf._tokenizer = _FakeClip(), tokenizer
    clf._transform = lambda im: torch.tensor(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1)
    return clf


def test_clip_heads_use_the_three_templates_and_batches_follow_objects():
    seen = []
    clf = _fake_classifier(seen)

    def image(level):
        return Image.fromarray(np.full((4, 4, 3), round(level * 255 / 9), dtype=np.uint8))

    obj = KeptObject(np.array([0, 0, 4, 4, 0.9], np.float32), None)
    reqs = [ColorRequest(image(2), "car", (obj, obj)), ColorRequest(image(4), "bus", (obj,)), ColorRequest(image(9), "car", (obj,))]
    assert clf.classify(reqs) == [["yellow", "yellow"], ["blue"], ["white"]]  # 4 crops in batches of 3
    assert seen[:3] == ["a photo of a red car", "a photo of a red-colored car", "a photo of a red object"]
    assert len(seen) == 60 and TEMPLATES[1] == "a photo of a {c}-colored {obj}"  # 2 classes x 10 colours x 3
    head = clf.head("car")
    assert head.shape == (10, 10) and torch.allclose(head.norm(dim=0), torch.ones(10))


def test_unknown_backends_and_options_are_user_errors():
    from lensbench.scorers.geneval.scorer import GenEvalScorer

    with pytest.raises(UnknownNameError):
        make_detector("yolo")
    with pytest.raises(UserError, match="unknown geneval scorer option"):
        GenEvalScorer({"treshold": 0.3})
    with pytest.raises(UserError, match="input_size"):
        make_detector("hf-mask2former", {"input_size": "big"})


def test_mmdet_backend_says_how_to_install_when_missing():
    pytest.importorskip("torch")
    try:
        import mmdet  # noqa: F401

        pytest.skip("mmdet is installed")
    except ImportError:
        pass
    with pytest.raises(UserError, match="mmdetection 2.x"):
        make_detector("mmdet").load()


def test_agreement_by_hand():
    a = [{"key": "1", "tag": "colors", "correct": True}, {"key": "2", "tag": "colors", "correct": False},
         {"key": "3", "tag": "position", "correct": True}, {"key": "4", "tag": "position", "correct": True}]
    b = [{"key": "1", "tag": "colors", "correct": True}, {"key": "2", "tag": "colors", "correct": True},
         {"key": "3", "tag": "position", "correct": True}, {"key": "9", "tag": "position", "correct": False}]
    r = agreement(a, b)
    assert r["tags"]["colors"] == {"n": 2, "agreement": 0.5, "accuracy_a": 0.5, "accuracy_b": 1.0,
                                   "only_a_correct": 0, "only_b_correct": 1}
    assert r["tags"]["position"]["n"] == 1 and r["overall"]["agreement"] == pytest.approx(2 / 3)


@pytest.fixture(scope="module")
def tiny_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("LENSBENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()


@pytest.mark.slow
def test_tiny_models_load_through_from_pretrained_and_batching_matches_single(tiny_cache):
    from lensbench.scorers.geneval.color import make_color_classifier
    from lensbench.scorers.geneval.tiny import ensure_tiny_mask2former

    path = ensure_tiny_mask2former(["dog", "cat"])
    assert (path / "config.json").exists() and (path / "preprocessor_config.json").exists()
    det = make_detector("hf-mask2former", {"detector_model": str(path), "input_size": "processor", "device": "cpu"})
    rng = np.random.default_rng(0)
    images = [Image.fromarray((rng.random((64, 64, 3)) * 255).astype(np.uint8)) for _ in range(3)]
    batched = det.detect(images, [None] * 3)
    kept = [select_detections(d.boxes, "single_object") for d in batched]
    assert kept[0] and set().union(*kept) <= {"dog", "cat"}  # the tiny head only "sees" its labels
    for im, b in zip(images, batched):
        one = det.detect([im], [None])[0]
        assert list(one.boxes) == list(b.boxes)
        for k in b.boxes:
            np.testing.assert_allclose(one.boxes[k], b.boxes[k], rtol=1e-4, atol=1e-4)
    clf = make_color_classifier({"clip": "tiny", "device": "cpu"})
    kept = select_detections(batched[0].boxes, "colors", masks=batched[0].masks)
    name, objs = next(iter(kept.items()))
    reqs = [ColorRequest(images[0], name, tuple(objs[:2])), ColorRequest(images[1], name, tuple(objs[:1]))]
    together = clf.classify(reqs)
    assert together == [clf.classify([r])[0] for r in reqs] and all(c in COLORS for c in together[0])
