"""Every user-visible string of the lab's report and table, per language, in one place.

A message is looked up by key and formatted with ``str.format`` placeholders. Messages are
written as "label: value" rather than sentences that inflect a number ("3 seeds"), so that a
language with other plural rules needs no code. A message may contain inline Markdown
(``**bold**``, ```code```); the report renders it.

>>> message("verdict.does_not_hold")
'does not hold'
>>> message("col.seeds")
'seeds'
"""

from __future__ import annotations

from typing import Any

__all__ = ["CATALOGUE", "languages", "message", "unit_text"]

CATALOGUE: dict[str, dict[str, str]] = {
    "en": {
        # verdicts: the word, and what it means in one line (headline table)
        "verdict.holds": "holds",
        "verdict.does_not_hold": "does not hold",
        "verdict.inconclusive": "inconclusive",
        "verdict.error": "error",
        "verdict.why.holds": "the interval lies on the claim's side of the threshold",
        "verdict.why.does_not_hold": "the interval lies on the other side of the threshold",
        "verdict.why.inconclusive": "the interval straddles the threshold",
        "verdict.why.error": "the run failed: no verdict",
        # the page
        "page.title": "initreg lab report",
        "page.heading": "initreg lab: weight initialization and regularization, claim by claim",
        "mode.quick": "quick settings",
        "mode.full": "full settings",
        "header.counts": "{total} claims, {mode}: **{holds}** hold, **{does_not_hold}** do not hold, "
                         "**{inconclusive}** inconclusive, **{error}** failed to run.",
        "header.method": "Each effect is the mean over seeds of a paired difference (the same seed gives both arms "
                         "the same data split, initialization and batch order) with its 95% t-interval; an exact "
                         "check shows the range over seeds instead. A claim **holds** when the interval lies "
                         "entirely on the claim's side of the threshold, **does not hold** when it lies entirely "
                         "on the other side, and is **inconclusive** when it straddles the threshold.",
        "header.criteria": "Criteria are declared in code; each shows the date it last changed; see the criteria "
                           "changelog (`docs/criteria-changelog.md`).",
        "header.criteria_hash": "Hash of all criteria: `{criteria_hash}`.",
        "header.quick": "Quick settings run few seeds, so the intervals are wide and more verdicts are "
                        "inconclusive; the documentation quotes full-settings verdicts.",
        "header.env": "Generated {created}; initreg {initreg}, torch {torch}, Python {python}, git {git}.",
        "header.old_format": "These results were written by an older lab without declared criteria: "
                             "verdicts come from each claim's own check, without effects or intervals.",
        "headline.heading": "Verdicts at a glance",
        "headline.legend": "Plot: dots are single seeds, the bar is the interval with the mean, the dashed "
                           "line is the threshold, the shaded side is where the claim needs the interval.",
        "coverage.heading": "The lecture, part by part",
        "coverage.intro": "Each part of the lecture (ids as in `docs/LECTURE.md`) and the claims in this report "
                          "that test it.",
        "coverage.col.part": "lecture part",
        "coverage.col.claims": "tested by",
        "coverage.untestable": "not testable: {reason}",
        "coverage.not_run": "no claim in this report (run the whole lab)",
        # headline and summary table columns
        "col.claim": "claim",
        "col.title": "title",
        "col.verdict": "verdict",
        "col.effect": "headline effect (95% interval)",
        "col.threshold": "threshold",
        "col.seeds": "seeds",
        "col.plot": "seeds, interval, threshold",
        "col.seconds": "time, s",
        "col.part": "part",
        "col.criterion": "criterion",
        "col.changed": "last changed",
        "col.effect_part": "effect",
        "col.interval": "interval",
        # a claim's section
        "section.lecture": "Lecture",
        "section.verdict": "Verdict",
        "section.run": "Seeds: {seeds}; {seconds} s.",
        "section.cached": "Reused from an earlier run with the same code and settings.",
        "section.criteria": "Criteria",
        "section.criteria_hash": "Criteria hash: `{criteria_hash}`.",
        "section.criterion_old": "Criterion",
        "section.figures": "Figures",
        "section.notes": "Notes",
        "section.numbers": "All numbers of this run ({count})",
        "section.settings": "Settings of this run",
        "section.error": "What failed",
        "section.back": "back to the table",
        "figure.alt": "{claim}: figure {name}",
        "figure.missing": "Figure `{name}` is missing from this claim's folder.",
        # what a verdict means, in the claim's own section
        "explain.measured": "**Measured:** {metric} (part `{part}`).",
        "explain.result": "**Result:** {effect}, {interval_label} {interval}, over seeds {seeds}; "
                          "the claim needs it {direction} {threshold}.",
        "explain.holds": "**What it means:** the whole interval lies on the claim's side of the threshold: "
                         "the data support the claim under these settings.",
        "explain.does_not_hold": "**What it means:** the whole interval lies on the other side of the "
                                 "threshold: under these settings the data contradict the claim. This is a "
                                 "result, not a bug; the criterion is not moved to change it.",
        "explain.inconclusive": "**What it means:** the interval contains the threshold: these seeds cannot "
                                "tell whether the effect clears it. More seeds (full settings) or a larger "
                                "effect would decide; the criterion is not moved to force a verdict.",
        "explain.error": "**What it means:** the experiment stopped with an error before it could measure "
                         "anything; the other claims ran as usual.",
        "explain.unmeasured": "**What it means:** by the claim's own check (its criterion, below) it {verdict}; "
                              "the claim declares no per-seed measurement, so there is no effect or interval to show.",
        "explain.reason": "**Why no decision:** {reason}.",
        "explain.failed_parts": "Parts that do not hold: {parts}.",
        "explain.open_parts": "Inconclusive parts: {parts}.",
        "interval.paired": "95% interval",
        "interval.exact": "range over seeds",
        "direction.>": "above",
        "direction.<": "below",
        # values
        "value.none": "—",
        "value.yes": "yes",
        "value.no": "no",
        "value.mean_ci": "{mean} ± {ci}",
        "value.mean_ci_detail": "n = {n}, from {min} to {max}",
        "value.empty": "(empty)",
        "forest.label": "{verdict}: {effect}, {interval_label} {interval}, threshold {threshold}; seeds: {values}",
        # summary.md
        "summary.heading": "initreg lab: {mode}",
        "summary.report": "The full report with figures and numbers: `index.html`.",
        "summary.explanations": "Claims that do not hold, are inconclusive or failed",
        # a criterion in words (initreg.lab.verdict.criterion_sentence), the lab's reasons, units
        "criterion.paired": "{metric}{unit}: the mean's 95% t-interval over seeds lies entirely {direction} {threshold}",
        "criterion.exact": "{metric}{unit}: {direction} {threshold} for every seed (exact check)",
        "reason.no_seeds": "no seeds",
        "reason.nan": "a seed's value is NaN (a run diverged or a metric is undefined)",
        "reason.too_few_seeds": "{n} seed(s), fewer than the claim's minimum of {minimum}",
        "unit.pp": "pp",
        "unit.nats": "nats",
        "unit.cases": "cases",
        "unit.epochs": "epochs",
        "unit.steps": "steps",
        "unit.ranges": "ranges",
        "coverage.part": "{lecture_id} {title}",
        # the terminal
        "cli.table_title": "initreg lab ({mode})",
        "cli.list_title": "lab claims",
        "results.title": "lab results ({count} claims)",
        "results.seconds": "seconds",
        "cli.rerendered": "report: {html} (and {md}), {count} claims",
        "col.lecture": "lecture",
        "cli.report_files": "report: {html}  (also {json}, {md})",
        "cli.cached": "(cached)",
    },
    "ru": {
        "verdict.holds": "подтверждается",
        "verdict.does_not_hold": "не подтверждается",
        "verdict.inconclusive": "не решено",
        "verdict.error": "ошибка",
        "verdict.why.holds": "интервал целиком по ту сторону порога, где его требует утверждение",
        "verdict.why.does_not_hold": "интервал целиком по другую сторону порога",
        "verdict.why.inconclusive": "интервал накрывает порог",
        "verdict.why.error": "запуск упал: вердикта нет",
        "page.title": "Отчёт лаборатории initreg",
        "page.heading": "Лаборатория initreg: инициализация весов и регуляризация, утверждение за утверждением",
        "mode.quick": "быстрые настройки",
        "mode.full": "полные настройки",
        "header.counts": "Утверждений: {total}, {mode}. Подтверждаются: **{holds}**, не подтверждаются: "
                         "**{does_not_hold}**, не решено: **{inconclusive}**, не запустились: **{error}**.",
        "header.method": "Каждый эффект — среднее по сидам парной разности (один и тот же сид даёт обоим вариантам "
                         "одно разбиение данных, одну инициализацию и один порядок батчей) с 95% t-интервалом; для "
                         "точной проверки вместо интервала показан размах по сидам. Утверждение "
                         "**подтверждается**, когда интервал целиком лежит по ту сторону порога, где его требует "
                         "утверждение, **не подтверждается**, когда он целиком по другую сторону, и "
                         "**не решено**, когда интервал накрывает порог.",
        "header.criteria": "Критерии заданы в коде; у каждого указана дата последнего изменения; история изменений — "
                           "в журнале критериев (`docs/criteria-changelog.md`).",
        "header.criteria_hash": "Хеш всех критериев: `{criteria_hash}`.",
        "header.quick": "Быстрые настройки прогоняют мало сидов, поэтому интервалы широкие и больше вердиктов "
                        "остаются нерешёнными; документация приводит вердикты полных настроек.",
        "header.env": "Создан {created}; initreg {initreg}, torch {torch}, Python {python}, git {git}.",
        "header.old_format": "Эти результаты записаны старой версией лаборатории без заданных критериев: "
                             "вердикты взяты из собственной проверки каждого утверждения, без эффектов и интервалов.",
        "headline.heading": "Вердикты кратко",
        "headline.legend": "График: кружки — отдельные сиды, полоса — интервал со средним, пунктир — порог, "
                           "закрашена сторона, где утверждению нужен интервал.",
        "coverage.heading": "Лекция, часть за частью",
        "coverage.intro": "Каждая часть лекции (обозначения как в `docs/LECTURE.md`) и утверждения этого отчёта, "
                          "которые её проверяют.",
        "coverage.col.part": "часть лекции",
        "coverage.col.claims": "проверяется",
        "coverage.untestable": "проверить нельзя: {reason}",
        "coverage.not_run": "в этом отчёте нет такого утверждения (запустите всю лабораторию)",
        "col.claim": "утверждение",
        "col.title": "название",
        "col.verdict": "вердикт",
        "col.effect": "главный эффект (95% интервал)",
        "col.threshold": "порог",
        "col.seeds": "сиды",
        "col.plot": "сиды, интервал, порог",
        "col.seconds": "время, с",
        "col.part": "часть",
        "col.criterion": "критерий",
        "col.changed": "изменён",
        "col.effect_part": "эффект",
        "col.interval": "интервал",
        "section.lecture": "Лекция",
        "section.verdict": "Вердикт",
        "section.run": "Сиды: {seeds}; {seconds} с.",
        "section.cached": "Взято из прошлого запуска с тем же кодом и теми же настройками.",
        "section.criteria": "Критерии",
        "section.criteria_hash": "Хеш критериев: `{criteria_hash}`.",
        "section.criterion_old": "Критерий",
        "section.figures": "Рисунки",
        "section.notes": "Пояснения",
        "section.numbers": "Все числа этого запуска ({count})",
        "section.settings": "Настройки этого запуска",
        "section.error": "Что сломалось",
        "section.back": "назад к таблице",
        "figure.alt": "{claim}: рисунок {name}",
        "figure.missing": "Рисунка `{name}` нет в папке этого утверждения.",
        "explain.measured": "**Что измерено:** {metric} (часть `{part}`).",
        "explain.result": "**Результат:** {effect}, {interval_label} {interval}, по сидам {seeds}; "
                          "утверждению нужно значение {direction} {threshold}.",
        "explain.holds": "**Что это значит:** весь интервал лежит по ту сторону порога, где его требует "
                         "утверждение: при этих настройках данные подтверждают утверждение.",
        "explain.does_not_hold": "**Что это значит:** весь интервал лежит по другую сторону порога: при этих "
                                 "настройках данные противоречат утверждению. Это результат, а не ошибка; "
                                 "критерий ради другого итога не сдвигают.",
        "explain.inconclusive": "**Что это значит:** интервал содержит порог: по этим сидам нельзя сказать, "
                                "превосходит ли эффект порог. Решили бы больше сидов (полные настройки) или "
                                "больший эффект; критерий ради вердикта не сдвигают.",
        "explain.error": "**Что это значит:** эксперимент остановился с ошибкой, ничего не успев измерить; "
                         "остальные утверждения прошли как обычно.",
        "explain.unmeasured": "**Что это значит:** по собственной проверке утверждения (его критерий ниже) "
                              "вердикт — «{verdict}»; поштучных измерений по сидам утверждение не задаёт, "
                              "поэтому эффекта и интервала нет.",
        "explain.reason": "**Почему не решено:** {reason}.",
        "explain.failed_parts": "Части, которые не подтверждаются: {parts}.",
        "explain.open_parts": "Нерешённые части: {parts}.",
        "interval.paired": "95% интервал",
        "interval.exact": "размах по сидам",
        "direction.>": "выше",
        "direction.<": "ниже",
        "value.none": "—",
        "value.yes": "да",
        "value.no": "нет",
        "value.mean_ci": "{mean} ± {ci}",
        "value.mean_ci_detail": "n = {n}, от {min} до {max}",
        "value.empty": "(пусто)",
        "forest.label": "{verdict}: {effect}, {interval_label} {interval}, порог {threshold}; сиды: {values}",
        "summary.heading": "Лаборатория initreg: {mode}",
        "summary.report": "Полный отчёт с рисунками и числами: `index.html`.",
        "summary.explanations": "Утверждения, которые не подтверждаются, не решены или не запустились",
        "criterion.paired": "{metric}{unit}: 95% t-интервал среднего по сидам целиком {direction} {threshold}",
        "criterion.exact": "{metric}{unit}: {direction} {threshold} для каждого сида (точная проверка)",
        "reason.no_seeds": "нет ни одного сида",
        "reason.nan": "значение одного из сидов — NaN (запуск разошёлся или метрика не определена)",
        "reason.too_few_seeds": "сидов {n}, меньше минимума утверждения ({minimum})",
        "unit.pp": "п. п.",
        "unit.nats": "нат",
        "unit.cases": "случаев",
        "unit.epochs": "эпох",
        "unit.steps": "шагов",
        "unit.ranges": "диапазонов",
        "coverage.part": "{lecture_id} {title}",
        "cli.table_title": "initreg lab ({mode})",
        "cli.list_title": "утверждения лаборатории",
        "results.title": "результаты лаборатории (утверждений: {count})",
        "results.seconds": "секунды",
        "cli.rerendered": "отчёт: {html} (и {md}), утверждений: {count}",
        "col.lecture": "лекция",
        "cli.report_files": "отчёт: {html}  (а также {json}, {md})",
        "cli.cached": "(из кэша)",
    },
}


def languages() -> tuple[str, ...]:
    """The languages the catalogue has."""
    return tuple(CATALOGUE)


def message(key: str, lang: str = "en", /, **values: Any) -> str:
    """The message ``key`` in ``lang``, with ``values`` filled into its placeholders.

    >>> message("section.run", seeds="0, 1, 2", seconds="4.2")
    'Seeds: 0, 1, 2; 4.2 s.'
    """
    if lang not in CATALOGUE:
        raise ValueError(f"lang must be one of {', '.join(languages())}; got lang={lang!r}")
    try:
        text = CATALOGUE[lang][key]
    except KeyError:
        raise KeyError(f"message key {key!r} is not in the {lang!r} catalogue (initreg/lab/messages.py)") from None
    return text.format(**values)


def unit_text(unit: str, lang: str = "en") -> str:
    """A criterion's unit as the reader's word (``"pp"`` → ``"п. п."`` in ``ru``); a symbol
    (``"×"``, ``"%"``, ``"log10"``) is the same in every language.

    >>> unit_text("pp", "ru"), unit_text("×", "ru")
    ('п. п.', '×')
    """
    key = f"unit.{unit}"
    return message(key, lang) if unit and key in CATALOGUE["en"] else unit
