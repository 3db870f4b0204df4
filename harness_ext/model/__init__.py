"""The two_stage lm-eval model: doc -> decompose prompt -> decomposer -> parse -> solve prompt -> solver."""
