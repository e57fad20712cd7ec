"""`claim_text`: one claim's words — title, statement, criteria, notes, glossaries — in any
language of the report: English from the claim's declarations (the registry), the others from
the package's locale files (`initreg.lab.i18n`).

>>> claim_text("C3", "en").criteria["example_matches_lecture"]["text"]
'within half a unit of the second decimal'
"""

from __future__ import annotations

from .i18n import ClaimText, locale_text
from .messages import languages

__all__ = ["claim_text"]


def claim_text(claim: str, lang: str) -> ClaimText | None:
    """``claim``'s words in ``lang``: in English from its ``@experiment`` declaration, in another
    language from ``locale/<lang>/<claim>.yaml`` (``None`` where that file does not exist).
    An unknown claim id lists the known ones."""
    if lang not in languages():
        raise ValueError(f"lang must be one of {', '.join(languages())}; got lang={lang!r}")
    if lang != "en":
        return locale_text(claim, lang)
    from .runner import select

    (exp,) = select([claim])
    return ClaimText(claim=exp.claim, lang="en", title=exp.title, statement=exp.statement,
                     criteria={c.part: {"metric": c.metric, "text": c.text} for c in exp.criteria}, notes=exp.notes)
