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

__all__ = ["CATALOGUE", "languages", "message"]

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
        "coverage.intro": "Each part of the lecture (ids as in docs/LECTURE.md) and the claims in this report "
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
        # the terminal
        "cli.table_title": "initreg lab ({mode})",
        "cli.report_files": "report: {html}  (also {json}, {md})",
        "cli.cached": "(cached)",
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
