"""The model: the word-level tokenizer, BART sizes, the training loop, grammar-constrained
decoding and generation, term-by-term evaluation and metrics, attention views.  Imports torch
and transformers."""
