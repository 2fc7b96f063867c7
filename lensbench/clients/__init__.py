"""Clients for remote model endpoints, shared by rewriters and (VLM) judges; below both in the layer order
(they import only `errors` and `redact`). `openai_chat`: the OpenAI-compatible chat-completions client."""
