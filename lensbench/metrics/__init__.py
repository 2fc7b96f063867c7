"""Set-level image metrics (FID, KID) between image sets; torchmetrics does the maths."""
