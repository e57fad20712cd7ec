"""Installers and set-up helpers that are not part of the library's techniques
(``python -m initreg.tools.wordnet``: offline WordNet for text augmentation)."""
