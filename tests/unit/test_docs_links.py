"""Every link in README.md and docs/*.md resolves (files, directories and #anchors); the README stays a front
door (≤ 250 lines) whose models table lists every registry entry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _prose(text: str) -> str:
    return _CODE.sub("", _FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in _FENCE.sub("", path.read_text(encoding="utf-8")).splitlines():
        m = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        s = slug(m.group(2))
        n = seen.get(s, 0)
        seen[s] = n + 1
        out.add(s if n == 0 else f"{s}-{n}")
    return out


def links(path: Path) -> list[str]:
    return _LINK.findall(_prose(path.read_text(encoding="utf-8")))


def test_slug_matches_github():
    assert slug("Offline GPU nodes: `lensbench fetch` and `lensbench doctor`") == \
        "offline-gpu-nodes-lensbench-fetch-and-lensbench-doctor"
    assert slug("Tidy export (`lensbench export`)") == "tidy-export-lensbench-export"
    assert slug("Reproduce a paper row: Lens-Turbo on GenEval, one GPU") == \
        "reproduce-a-paper-row-lens-turbo-on-geneval-one-gpu"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_link_resolves(page):
    bad = []
    for target in links(page):
        if re.match(r"^[a-z]+:", target):  # http(s), mailto: not checked offline
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            bad.append(f"{target}: {dest} does not exist")
            continue
        if anchor:
            if dest.suffix != ".md":
                bad.append(f"{target}: anchor into a non-Markdown file")
            elif anchor not in anchors(dest):
                bad.append(f"{target}: no heading with anchor #{anchor} in {dest.name}")
    assert not bad, f"broken links in {page.name}:\n" + "\n".join(bad)


def test_readme_is_a_front_door_linking_every_docs_page():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    linked = {t.partition("#")[0] for t in links(REPO / "README.md")}
    for page in sorted((REPO / "docs").glob("*.md")):
        assert f"docs/{page.name}" in linked, f"README's documentation index does not link docs/{page.name}"
    assert "bash .ci/setup && .venv/bin/lensbench demo" in text
    assert "bash .ci/setup && .venv/bin/python -m pytest -q" in text


def test_readme_models_table_lists_every_registry_entry():
    from lensbench.generators.catalog import MODELS

    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text.split("## Models", 1)[1].split("\n## ", 1)[0]
    rows = {m.group(1) for m in re.finditer(r"^\| `([^`]+)` \|", table, re.M)}
    missing = sorted(set(MODELS.names()) - rows)
    assert not missing, f"README models table lacks {missing}; regenerate it from `lensbench models`"


def test_everyday_examples_score_what_they_generate():
    """A run generated from a JSONL file has no official scorer: the README never scores such a run with
    another suite (the old 'generate --suite prompts.jsonl' then 'score --suite geneval' bug)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("## Everyday use", 1)[1].split("```", 2)[1]
    made = dict(re.findall(r"generate .*?--suite (\S+).*?--out (\S+)", block))
    made = {out: suite for suite, out in made.items()}
    for run, suite in re.findall(r"score (\S+) --suite (\S+)", block):
        assert made.get(run) == suite, f"score {run} --suite {suite} but {run} was generated with {made.get(run)}"
