"""initreg's Hugging Face callbacks in a real ``transformers.Trainer`` (CPU, tiny models built
from configs: no weights are downloaded)."""

from __future__ import annotations

import torch
import transformers  # the dev extra installs it (with accelerate): these tests never skip
from torch.utils.data import Dataset

from initreg.init import initialize
from initreg.integrations.hf import (
    ActivityPenaltyTrainerCallback,
    ProbeTrainerCallback,
    WeightPenaltyTrainerCallback,
)
from initreg.probe import LABELS
from initreg.regularize.penalties import ActivityPenalty, WeightPenalty

transformers.logging.set_verbosity_error()


class Tokens(Dataset):
    """Random token sequences; the label is whether token 1 occurs more often than token 2."""

    def __init__(self, n=64, length=12, vocab=30, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(3, vocab, (n, length), generator=g)
        self.ids[:, :4] = torch.randint(1, 3, (n, 4), generator=g)
        self.labels = ((self.ids == 1).sum(1) > (self.ids == 2).sum(1)).long()

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "attention_mask": torch.ones_like(self.ids[i]), "labels": self.labels[i]}


def _bert(seed=0):
    cfg = transformers.BertConfig(vocab_size=30, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                  intermediate_size=64, max_position_embeddings=16, num_labels=2,
                                  hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    torch.manual_seed(seed)
    return transformers.BertForSequenceClassification(cfg)


def _args(tmp_path, **kw):
    base = dict(output_dir=str(tmp_path), per_device_train_batch_size=8, learning_rate=1e-2, max_steps=6,
                gradient_accumulation_steps=2, report_to=[], save_strategy="no", logging_strategy="no",
                use_cpu=True, seed=0, disable_tqdm=True, dataloader_num_workers=0)
    return transformers.TrainingArguments(**{**base, **kw})


def test_hf_weight_penalty_equals_penalty_in_compute_loss(tmp_path):
    """Same weights as a Trainer whose compute_loss adds R (gradient clipping at its default 1.0)."""
    pen = WeightPenalty(l1=1e-3, l2=1e-1)

    class Reference(transformers.Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, **kw):
            out = model(**inputs)
            return out.loss + pen.penalty(model)

    a, b, c = _bert(), _bert(), _bert()
    cb = WeightPenaltyTrainerCallback(l1=1e-3, l2=1e-1)
    one = {"gradient_accumulation_steps": 1}  # with accumulation, compute_loss's R would count once per micro-batch
    transformers.Trainer(model=a, args=_args(tmp_path / "a", **one), train_dataset=Tokens(), callbacks=[cb]).train()
    Reference(model=b, args=_args(tmp_path / "b", **one), train_dataset=Tokens()).train()
    transformers.Trainer(model=c, args=_args(tmp_path / "c", **one), train_dataset=Tokens()).train()
    assert cb.last > 0
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7, msg=n)
    assert any(not torch.allclose(p, r, atol=1e-4) for p, r in zip(a.parameters(), c.parameters()))


def test_hf_probe_reports_verdicts_and_stops_on_a_bad_one(tmp_path):
    model = _bert()
    cb = ProbeTrainerCallback(every_n_steps=3)
    transformers.Trainer(model=model, args=_args(tmp_path / "ok"), train_dataset=Tokens(), callbacks=[cb]).train()
    assert [r.meta["step"] for r in cb.reports] == [0, 3, 6]
    first = cb.reports[0]
    names = [row.name for row in first.layers]
    assert any("attention" in n for n in names) and any("classifier" in n for n in names), names
    assert first.label in LABELS

    # a tiny init shrinks the signal reaching the classifier by orders of magnitude
    bad = _bert()
    initialize(bad, {"name": "normal", "std": 1e-4}, generator=torch.Generator().manual_seed(0), warn=False)
    cb_bad = ProbeTrainerCallback()
    tr = transformers.Trainer(model=bad, args=_args(tmp_path / "bad"), train_dataset=Tokens(), callbacks=[cb_bad])
    tr.train()

    def head(rep):
        return next(r.fwd_ratio for r in rep.layers if r.name.endswith("classifier"))

    assert head(cb_bad.reports[0]) < 1e-3 * head(first), (head(cb_bad.reports[0]), head(first))

    # stop_on: training ends at the first report whose verdict is listed, and only then
    stop = ProbeTrainerCallback(stop_on=[first.label])
    tr = transformers.Trainer(model=_bert(), args=_args(tmp_path / "stop"), train_dataset=Tokens(), callbacks=[stop])
    tr.train()
    assert stop.stop_reason and first.label in stop.stop_reason and tr.state.global_step <= 1
    other = [lab for lab in LABELS if lab != first.label]
    go = ProbeTrainerCallback(stop_on=other)
    tr = transformers.Trainer(model=_bert(), args=_args(tmp_path / "go"), train_dataset=Tokens(), callbacks=[go])
    tr.train()
    assert go.stop_reason is None and tr.state.global_step == 6


def test_hf_activity_penalty_equals_penalty_in_compute_loss(tmp_path):
    """Same weights as a Trainer whose compute_loss adds ActivityPenalty's R of the same forward;
    HF's GELUActivation modules are among the penalized activations."""
    ref_pen = ActivityPenalty(l1=1e-3, l2=1e-2)

    class Reference(transformers.Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, **kw):
            ref_pen.penalty()
            out = model(**inputs)
            return out.loss + ref_pen.penalty()

    a, b, c = _bert(), _bert(), _bert()
    cb = ActivityPenaltyTrainerCallback(l1=1e-3, l2=1e-2)
    chosen = [type(m).__name__ for _, m in cb.penalty.chosen(a)]
    assert "GELUActivation" in chosen and "Tanh" in chosen  # BERT's intermediate GELU and pooler tanh
    ref_pen.attach(b)
    one = {"gradient_accumulation_steps": 1}  # with accumulation, compute_loss's R would count once per micro-batch
    for m, args, cbs in [(a, _args(tmp_path / "a", **one), [cb]), (c, _args(tmp_path / "c", **one), [])]:
        transformers.Trainer(model=m, args=args, train_dataset=Tokens(), callbacks=cbs).train()
    Reference(model=b, args=_args(tmp_path / "b", **one), train_dataset=Tokens()).train()
    ref_pen.detach()
    assert cb.last > 0 and cb._handle is None and not cb.penalty._handles  # hooks removed at the end
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=n)
    assert any(not torch.allclose(p, r, atol=1e-4) for p, r in zip(a.parameters(), c.parameters()))
    a.eval()
    with torch.no_grad():  # evaluation is not penalized: the hook leaves the loss alone
        batch = {k: torch.stack([Tokens()[i][k] for i in range(4)]) for k in ("input_ids", "attention_mask", "labels")}
        assert a(**batch).loss.isfinite()
