"""Packaged models (GGUF inside PyPI packages) and the llama.cpp OpenAI-compatible server."""
