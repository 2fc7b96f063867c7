"""DPG-Bench scoring: official pure logic (`official`, `questions`, `grid`), VQA backends (`backends`), the
`DpgScorer` (`scorer`, registered as "dpg"), summaries with bootstrap CIs (`summary`) and `discover`.

Importing this package is cheap: no torch/transformers/modelscope at import time.
"""
