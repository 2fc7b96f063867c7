"""Ablations: grid files (`grid`), the content-addressed image cache shared by cells and runs (`cache`), paired
deltas against a control cell (`paired`) and the tables/charts (`report`). The runner is
`lensbench.runners.ablate.run_ablation`; the CLI is ``lensbench ablate GRID``. Nothing heavy is imported here."""
