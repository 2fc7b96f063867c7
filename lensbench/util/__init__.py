"""Shared plumbing with one home each (bottom layer: imports nothing of lensbench but `errors`).

- `files`: `sha256_file`, `cache_root` (``$LENSBENCH_CACHE``), `build_dir_atomic` (cached directories),
  `iter_jsonl` (JSONL lines with ``path:line`` errors).
- `lock`: `exclusive_lock` (non-blocking fcntl lock with a one-line error when held).
- `device`: `resolve_device` (the one device policy), `is_oom`.
- `sizes`: `parse_size` / `format_size` — every size lensbench prints or parses is WIDTHxHEIGHT.
- `identity`: `hub_commit` (a revision's commit from the local Hub cache), `local_fingerprint` (a local
  model's content fingerprint), `identity_of`, `package_version` — weights identity for generators and scorers.
- `table`: `align` (fixed-width text tables).
- `terminal`: quiet, standard terminal behaviour set once at CLI start.
"""
