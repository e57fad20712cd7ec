"""`TrainConfig`: every knob of `fit`, validated (unknown keys fail, ranges are checked)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["TrainConfig"]


class TrainConfig(BaseModel):
    """How to train. Defaults give Adam 1e-3, batch 64, 10 epochs."""

    model_config = ConfigDict(extra="forbid")

    optimizer: Literal["sgd", "adam", "adamw"] = "adam"
    lr: float = Field(1e-3, gt=0)  # learning rate γ
    momentum: float = Field(0.0, ge=0, lt=1)  # SGD momentum
    nesterov: bool = False  # SGD Nesterov momentum (needs momentum > 0)
    betas: tuple[float, float] = (0.9, 0.999)  # Adam / AdamW
    weight_decay: float = Field(0.0, ge=0)  # the optimizer's own weight decay (coupled for sgd/adam, decoupled for adamw)
    schedule: Literal["constant", "step", "cosine"] = "constant"  # learning-rate schedule, stepped every optimizer step
    step_size: int = Field(10, ge=1)  # 'step' schedule: epochs between decays
    gamma: float = Field(0.1, gt=0, le=1)  # 'step' schedule: decay factor
    epochs: int = Field(10, ge=1)  # passes over the train split (ignored when steps is set)
    steps: int | None = Field(None, ge=1)  # total optimizer steps, overrides epochs
    batch_size: int = Field(64, ge=1)  # a batch size >= the train size means full-batch training
    drop_last: bool = False  # drop a last, smaller batch each epoch
    loss: Literal["auto", "cross_entropy", "mse"] = "auto"  # auto: cross-entropy for classification, MSE for regression
    label_smoothing: float = Field(0.0, ge=0, lt=1)  # cross-entropy label smoothing
    grad_clip: float | None = Field(None, gt=0)  # max global gradient norm
    eval_every: int | None = Field(None, ge=1)  # evaluate every N steps (default: at each epoch end)
    eval_train: bool = False  # also evaluate the whole train split in eval mode (else: running mean of batch losses)
    eval_batch_size: int = Field(2048, ge=1)
    evaluate_test: bool = True  # evaluate the test split once at the end
    seed: int = 0  # shuffling and dropout seed
    progress: Literal["auto", "bar", "log", "none"] = "auto"  # auto: a rich bar on a terminal, log lines otherwise
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps; a device that is not present is an error
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"  # autocast precision of forward/loss (weights stay fp32)
    checkpoint_every: int = Field(0, ge=0)  # with a run folder: checkpoint.pt every N epochs (initreg train --resume); 0: never
    seeds: int = Field(1, ge=1)  # train this many seeds at once (run/train: model seed + k, train seed + k); see multiseed

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.device.split(":")[0] not in ("auto", "cpu", "cuda", "mps"):
            raise ValueError(f"device must be one of auto, cpu, cuda, cuda:N, mps; got device={self.device!r}")
        if self.nesterov and (self.optimizer != "sgd" or self.momentum <= 0):
            raise ValueError(f"nesterov needs optimizer='sgd' and momentum > 0; got optimizer={self.optimizer!r}, momentum={self.momentum}")
        return self
