"""``initreg synonyms``: random synonym replacement from WordNet, on the command line."""

from __future__ import annotations

import typer

from .app import app, console


@app.command("synonyms")
def synonyms_cmd(
    text: list[str] = typer.Argument(..., help="Sentences to augment (one argument each)."),
    p: float = typer.Option(0.3, "--p", help="Probability of replacing each word that has a WordNet synonym."),
    copies: int = typer.Option(1, "--copies", "-n", min=1, help="Augmented copies per sentence."),
    seed: int = typer.Option(0, "--seed", help="Seed of the generator (the same seed gives the same output)."),
    keep_stopwords: bool = typer.Option(False, "--keep-stopwords", help="Also replace function words (the, is, a...)."),
) -> None:
    """Replace words by random WordNet synonyms (text augmentation), keeping punctuation and casing.

    Needs WordNet for NLTK: `make wordnet` (offline, from Debian's packages) or
    `python -m nltk.downloader wordnet`.

    Example: initreg synonyms "The movie was good!" --p 0.5 --copies 3 --seed 1
    """
    import torch

    from ..regularize.text import SynonymReplacer

    sr = SynonymReplacer(p=p, keep_stopwords=keep_stopwords)
    g = torch.Generator().manual_seed(seed)
    for out in sr.augment(text, copies, generator=g):
        console.print(out, highlight=False, markup=False, soft_wrap=True)
