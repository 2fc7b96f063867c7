"""Text-rendering metrics as pure functions (no OCR model inside).

Two official rule sets are reproduced, each from the benchmark's own evaluation script:

**CVTG-2K** (TextCrafter; ``unified_metrics_eval.py`` shipped with the CVTG-2K data, "kept intact" by the
authors). Per image:
  * target words = every single-quoted span of the prompt (``re.findall(r"'(.*?)'", prompt)``), lower-cased
    and split on whitespace; punctuation stays part of the word ("24/7!" must be read as "24/7!").
  * OCR words = every recognised line, lower-cased and split on whitespace (``['']`` when nothing was read).
  * word accuracy: a target word counts as correct when it occurs among the OCR words (membership, so a
    repeated target word can be matched by one OCR word).
  * NED (reported as a similarity, higher is better): for each target word take the closest OCR word by
    ``difflib.get_close_matches(word, ocr_words, n=1, cutoff=0)`` and score ``1 - lev / (max(len) + 1e-5)``.
  * aggregation: word accuracy = correct words / target words over the whole set (micro); NED = mean over all
    target words. The paper tables' "average" is this pooled value over the 2–5-region subsets.

**LongText-Bench** (X-Omni; ``textbench/summary_scores.py``). Per image:
  * ground truth = the prompt's ``text`` list joined with spaces; OCR output is the recogniser's text.
  * normalisation: drop every character except CJK U+4E00–U+9FA5, ASCII letters/digits, whitespace and the
    French accented letters àâäéèêëîïôöùûüç (both cases). English mode then collapses whitespace, strips and
    lower-cases; Chinese mode keeps only the allowed non-space characters (no lower-casing).
  * matches: English = multiset intersection of whitespace words; Chinese = multiset intersection of characters.
  * text score = matched / ground-truth tokens, pooled over all images of a language (micro average).

lensbench additions (documented as such, never mixed into the official numbers):
  * ``text_precision``: LongText-normalised OCR tokens that match the target multiset / all OCR tokens. It is
    the only metric here that drops when the image shows *extra* text (the official metrics are recall-only).
  * Chinese word tokens for the CVTG-style metrics (CVTG-2K is English only): each CJK character is one
    token and runs of letters/digits are one token; punctuation is ignored (OCR models confuse full- and
    half-width punctuation).
  * per-region scores (each target string is one region) and "region accuracy" (all words of a region read).
  * ``join_words`` (off by default, so the official rules hold): an OCR token that is exactly a concatenation
    of two or more target words ("grandopening") is split into them before matching. PP-OCRv4's Chinese/English
    recogniser (the one inside rapidocr) sometimes drops the space between words, which the official English
    rules count as wrong words; PaddleOCR's English model, used by CVTG-2K, drops fewer.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

#: CVTG-2K's constant in the NED denominator (unified_metrics_eval.py: ``max(len1, len2) + 1e-5``)
CVTG_NED_EPS = 1e-5
#: X-Omni LongText-Bench character whitelist (summary_scores.py)
_LT_ACCENTS = "àâäéèêëîïôöùûüçÀÂÄÉÈÊËÎÏÔÖÙÛÜÇ"
_LT_DROP = re.compile(rf"[^\u4e00-\u9fa5a-zA-Z0-9\s{_LT_ACCENTS}]")
_LT_KEEP = re.compile(rf"[\u4e00-\u9fa5a-zA-Z0-9{_LT_ACCENTS}]")
LANGUAGES = ("en", "zh")


# -- edit distance ---------------------------------------------------------------------------------
def levenshtein(a: str, b: str) -> int:
    """Levenshtein distance (unit cost insert / delete / substitute)."""
    if a == b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def ned_similarity(a: str, b: str, eps: float = CVTG_NED_EPS) -> float:
    """``1 - lev(a, b) / (max(len(a), len(b)) + eps)``: 1 for equal strings (CVTG-2K's "NED")."""
    return 1.0 - levenshtein(a, b) / (max(len(a), len(b)) + eps)


# -- tokenisation ----------------------------------------------------------------------------------
def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def word_tokens(text: str, language: str = "en") -> list[str]:
    """Words for the CVTG-style metrics.

    English (official CVTG-2K rule): ``text.lower().split()``. Chinese (lensbench rule): each CJK character is
    a token, each run of other letters/digits is a lower-cased token, everything else separates tokens.
    """
    if language != "zh":
        return text.lower().split()
    tokens: list[str] = []
    run: list[str] = []
    for ch in text:
        if _is_cjk(ch):
            if run:
                tokens.append("".join(run).lower())
                run = []
            tokens.append(ch)
        elif ch.isalnum():
            run.append(ch)
        elif run:
            tokens.append("".join(run).lower())
            run = []
    if run:
        tokens.append("".join(run).lower())
    return tokens


def ocr_word_tokens(lines: Sequence[str], language: str = "en") -> list[str]:
    """OCR words of all recognised lines; ``['']`` when there are none (as CVTG-2K does)."""
    words = [w for line in lines for w in word_tokens(line, language)]
    return words or [""]


def split_joined_words(tokens: Sequence[str], vocabulary: Sequence[str] | set[str]) -> list[str]:
    """Split each token that is a concatenation of ≥ 2 vocabulary words into those words (others unchanged)."""
    vocab = set(vocabulary)
    out: list[str] = []
    for tok in tokens:
        parts = None if (not tok or tok in vocab) else _segment(tok, vocab)
        out.extend(parts if parts and len(parts) > 1 else [tok])
    return out


def _segment(token: str, vocab: set[str]) -> list[str] | None:
    """One split of `token` into vocabulary words (fewest pieces), or None."""
    best: list[list[str] | None] = [[]] + [None] * len(token)
    for end in range(1, len(token) + 1):
        for start in range(end):
            prev = best[start]
            piece = token[start:end]
            if prev is not None and piece in vocab and (best[end] is None or len(prev) + 1 < len(best[end])):
                best[end] = prev + [piece]
    return best[-1]


def longtext_normalize(text: str, mode: str = "en") -> str:
    """X-Omni LongText-Bench ``preprocess_string`` (mode "en" or "zh")."""
    if mode == "en":
        return re.sub(r"\s+", " ", _LT_DROP.sub("", text)).strip().lower()
    return "".join(_LT_KEEP.findall(text)).strip()


def longtext_tokens(text: str, mode: str = "en") -> list[str]:
    """Tokens LongText-Bench counts: words (en) or characters (zh) of the normalised text."""
    norm = longtext_normalize(text, mode)
    return norm.split() if mode == "en" else list(norm)


# -- per-image scores ------------------------------------------------------------------------------
@dataclass
class RegionScore:
    target: str
    words: list[str]
    correct: list[bool]
    ned: list[float]

    @property
    def n_words(self) -> int:
        return len(self.words)

    @property
    def hit(self) -> bool:
        """Every word of the region was read (a region with no words counts as read)."""
        return all(self.correct)

    def to_dict(self) -> dict:
        n = len(self.words)
        return {
            "target": self.target,
            "n_words": n,
            "n_correct": sum(self.correct),
            "word_accuracy": sum(self.correct) / n if n else None,
            "ned": sum(self.ned) / n if n else None,
            "hit": self.hit,
        }


@dataclass
class ImageTextScore:
    """Everything one image contributes to the pooled metrics (counts, so aggregation stays exact)."""

    regions: list[RegionScore] = field(default_factory=list)
    text_matched: int = 0  # LongText: matched ground-truth tokens
    text_total: int = 0  # LongText: ground-truth tokens
    ocr_matched: int = 0  # lensbench precision: OCR tokens matching the target multiset
    ocr_total: int = 0  # lensbench precision: OCR tokens

    @property
    def word_correct(self) -> int:
        return sum(sum(r.correct) for r in self.regions)

    @property
    def word_total(self) -> int:
        return sum(r.n_words for r in self.regions)

    @property
    def ned_sum(self) -> float:
        return float(sum(sum(r.ned) for r in self.regions))

    @property
    def region_hits(self) -> int:
        return sum(r.hit for r in self.regions)

    def to_dict(self) -> dict:
        def ratio(a: float, b: float) -> float | None:
            return a / b if b else None

        return {
            "word_correct": self.word_correct,
            "word_total": self.word_total,
            "ned_sum": self.ned_sum,
            "text_matched": self.text_matched,
            "text_total": self.text_total,
            "ocr_matched": self.ocr_matched,
            "ocr_total": self.ocr_total,
            "region_hits": self.region_hits,
            "region_total": len(self.regions),
            "word_accuracy": ratio(self.word_correct, self.word_total),
            "ned": ratio(self.ned_sum, self.word_total),
            "text_score": ratio(self.text_matched, self.text_total),
            "text_precision": ratio(self.ocr_matched, self.ocr_total),
            "region_accuracy": ratio(self.region_hits, len(self.regions)),
            "regions": [r.to_dict() for r in self.regions],
        }


def cvtg_word_scores(
    gt_words: Sequence[str], ocr_words: Sequence[str], eps: float = CVTG_NED_EPS
) -> tuple[list[bool], list[float]]:
    """Per target word: found among the OCR words (CVTG word accuracy), and NED to the closest OCR word."""
    pool = list(ocr_words) or [""]
    present = set(pool)
    correct, neds = [], []
    for w in gt_words:
        correct.append(w in present)
        best = difflib.get_close_matches(w, pool, n=1, cutoff=0)
        neds.append(ned_similarity(w, best[0], eps) if best else 0.0)
    return correct, neds


def longtext_match(targets: Sequence[str], ocr_text: str, mode: str = "en", *,
                   join_words: bool = False) -> tuple[int, int, int, int]:
    """(matched GT tokens, GT tokens, matched OCR tokens, OCR tokens) under LongText-Bench normalisation.

    The ground truth is the targets joined with spaces, as the official script does with the ``text`` list.
    Matched counts are the multiset intersection, identical from both sides.
    """
    gt_tokens = longtext_tokens(" ".join(targets), mode)
    ocr_tokens = longtext_tokens(ocr_text, mode)
    if join_words and mode == "en":
        ocr_tokens = split_joined_words(ocr_tokens, gt_tokens)
    gt = Counter(gt_tokens)
    ocr = Counter(ocr_tokens)
    matched = sum((gt & ocr).values())
    return matched, sum(gt.values()), matched, sum(ocr.values())


def score_image(
    targets: Sequence[str], ocr_lines: Sequence[str], language: str = "en", *, ned_eps: float = CVTG_NED_EPS,
    join_words: bool = False,
) -> ImageTextScore:
    """All metrics of one image: CVTG-style word accuracy / NED per region, LongText text score, precision."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    region_words = [word_tokens(t, language) for t in targets]
    pool = ocr_word_tokens(ocr_lines, language)
    if join_words:
        pool = split_joined_words(pool, [w for ws in region_words for w in ws])
    regions = []
    for target, words in zip(targets, region_words):
        correct, neds = cvtg_word_scores(words, pool, ned_eps)
        regions.append(RegionScore(target=target, words=words, correct=correct, ned=neds))
    tm, tt, om, ot = longtext_match(targets, " ".join(ocr_lines), language, join_words=join_words)
    return ImageTextScore(regions=regions, text_matched=tm, text_total=tt, ocr_matched=om, ocr_total=ot)


def length_bucket(targets: Sequence[str], language: str, edges: Sequence[int]) -> str:
    """"short" / "medium" / "long" by target length: words (en) or characters (zh) of the LongText tokens.

    ``edges = (a, b)``: short ≤ a < medium ≤ b < long.
    """
    n = len(longtext_tokens(" ".join(targets), "en" if language != "zh" else "zh"))
    a, b = edges
    return "short" if n <= a else ("medium" if n <= b else "long")
