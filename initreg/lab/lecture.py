"""The lecture's parts (ids as in ``docs/LECTURE.md``) with their titles, the ones no experiment
can test, and which claims test each — pure data, so the report can use it without the claim
registry. Titles and reasons come in every language of the report (`TITLES`, `UNTESTABLE_TEXT`).

>>> [r["claims"] for r in coverage_of([("C1", ["L2"])]) if r["lecture_id"] == "L2"]
[['C1']]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["LECTURE_IDS", "TITLES", "UNTESTABLE", "UNTESTABLE_TEXT", "coverage_of"]

# The lecture's parts in the order of docs/LECTURE.md (a test checks this list against the page).
LECTURE_IDS: tuple[str, ...] = (
    *(f"L{i}" for i in range(1, 5)),
    *(f"K{i}" for i in range(1, 5)),
    *(f"I{i}" for i in range(1, 9)),
    *(f"R{i}" for i in range(1, 14)),
)

# Parts that no experiment can falsify, with the reason (shown in the report and in --list --json).
UNTESTABLE: dict[str, str] = {
    "L1": ("a definition: it fixes the notation y = σ(xᵀW) with the bias folded in as row 0 of W; "
           "there is no statement about data or training to falsify (its consequences are tested: "
           "L2 by C1, L3 by C2)"),
}

# The same reasons in every language of the report (the English ones are `UNTESTABLE`).
UNTESTABLE_TEXT: dict[str, dict[str, str]] = {
    "en": UNTESTABLE,
    "ru": {
        "L1": ("это определение: оно фиксирует запись y = σ(xᵀW), где смещение — нулевая строка W; "
               "утверждения о данных или обучении, которое можно опровергнуть, здесь нет (его следствия "
               "проверяются: L2 — утверждением C1, L3 — C2)"),
    },
}

# Each part's short title, as the report's coverage table shows it.
TITLES: dict[str, dict[str, str]] = {
    "en": {
        "L1": "Linear layer", "L2": "Two linear layers in a row", "L3": "Activations", "L4": "Softmax",
        "K1": "Robustness", "K2": "Train / validation / test", "K3": "Overfitting",
        "K4": "Exploding and vanishing gradients",
        "I1": "Constant init", "I2": "Variance of one unit", "I3": "Forward pass", "I4": "Legacy uniform init",
        "I5": "Backward pass", "I6": "Xavier (Glorot)", "I7": "Plain normal init", "I8": "Kaiming (He), for ReLU",
        "R1": "Loss penalties", "R2": "L2 / weight decay", "R3": "Normalization layers", "R4": "BatchNorm",
        "R5": "Dropout", "R6": "Dropout vs inverted dropout", "R7": "Distillation", "R8": "Quantization",
        "R9": "Pruning", "R10": "Early stopping", "R11": "Augmentation", "R12": "Mixup", "R13": "Label smoothing",
    },
    "ru": {
        "L1": "Линейный слой", "L2": "Два линейных слоя подряд", "L3": "Нелинейности (функции активации)",
        "L4": "Софтмакс",
        "K1": "Устойчивость (робастность)", "K2": "Обучающая, валидационная и тестовая выборки",
        "K3": "Переобучение", "K4": "Взрыв и затухание градиентов",
        "I1": "Инициализация константой", "I2": "Дисперсия одного нейрона", "I3": "Прямой проход",
        "I4": "Старая равномерная инициализация", "I5": "Обратный проход", "I6": "Инициализация Ксавье (Глоро)",
        "I7": "Нормальное распределение", "I8": "Инициализация Каймина (Хе) для ReLU",
        "R1": "Модификации функции ошибки", "R2": "L2-регуляризация и затухание весов",
        "R3": "Слои нормализации", "R4": "Батч-нормализация", "R5": "Дропаут",
        "R6": "Дропаут и инвертированный дропаут", "R7": "Дистилляция", "R8": "Квантизация", "R9": "Прунинг",
        "R10": "Ранняя остановка", "R11": "Аугментация", "R12": "Mixup (смешивание примеров)",
        "R13": "Сглаживание меток",
    },
}


def coverage_of(claims: Iterable[tuple[str, Sequence[str]]], lang: str = "en") -> list[dict[str, Any]]:
    """`coverage` from ``(claim id, lecture ids)`` pairs, e.g. the records of a ``results.json``;
    each row also has the part's ``title`` in ``lang``, and the reason a part is untestable in ``lang``.

    >>> [r for r in coverage_of([("C1", ["L2"])]) if r["lecture_id"] in ("L1", "L2")][1]["claims"]
    ['C1']
    """
    if lang not in TITLES:
        raise ValueError(f"lang must be one of {', '.join(TITLES)}; got lang={lang!r}")
    pairs = [(c, tuple(ids)) for c, ids in claims]
    return [{"lecture_id": lid, "title": TITLES[lang][lid], "claims": [c for c, ids in pairs if lid in ids],
             "untestable_because": UNTESTABLE_TEXT[lang].get(lid)}
            for lid in LECTURE_IDS]
