"""Text-rendering scoring by OCR: pure metrics (metrics.py, aggregate.py), OCR backends (backends.py), a
per-image OCR cache (cache.py) and the scorer registered as "text" / "longtext" / "cvtg" (scorer.py)."""
