"""lensbench: benchmark and ablation harness for text-to-image models.

Importing this package is cheap: no torch, diffusers or transformers are imported here.
"""

__version__ = "0.1.0"
