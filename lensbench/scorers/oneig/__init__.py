"""OneIG-Bench scorer: official logic (alignment, text, similarity, official) and model backends."""
