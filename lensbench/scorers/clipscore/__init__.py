"""`clipscore`: torchmetrics CLIPScore on a transformers CLIP model (see scorer.py)."""
