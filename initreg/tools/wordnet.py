"""Offline WordNet for NLTK, from Debian's packages: ``python -m initreg.tools.wordnet``.

Synonym replacement (`initreg.regularize.text`) reads WordNet with NLTK's reader. With
internet, ``python -m nltk.downloader wordnet`` is all it takes. Offline, this set-up:

1. installs Debian's ``wordnet-base`` and ``wordnet-sense-index`` (``apt-get install
   --no-install-recommends``; only as root and only when their files are missing);
2. **copies** (never links: NLTK 3.10's path sandbox refuses links) the files of
   ``/usr/share/wordnet`` into ``<dest>/corpora/wordnet/``, where ``<dest>`` is a folder on
   ``nltk.data.path`` (default: ``sys.prefix/share/nltk_data``, i.e. inside the virtualenv);
3. writes the ``lexnames`` file NLTK needs, which Debian ships only inside the
   ``lexnames(5WN)`` man page: each line is ``NN<TAB>name<TAB>category`` (1 noun, 2 verb,
   3 adjective, 4 adverb), derived from the page's table (from a built-in copy of the 45
   WordNet 3.0 names when the image strips man pages);
4. checks that ``synsets("good")`` gives 27 synsets.

Idempotent and fast when done (a stamp file records what was copied). Exit status 0 when
WordNet is ready; with ``--require`` (the default when ``$CI`` is set) a failure exits 1,
otherwise it prints how to get WordNet and exits 0 so the rest of the set-up goes on.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["DEBIAN_DIR", "DEBIAN_PACKAGES", "default_dest", "lexnames_text", "setup_wordnet", "HOW_TO"]

DEBIAN_DIR = Path("/usr/share/wordnet")
DEBIAN_PACKAGES = ("wordnet-base", "wordnet-sense-index")
LEXNAMES_MAN = Path("/usr/share/man/man5/lexnames.5WN.gz")
_STAMP = ".initreg-wordnet"
# Files NLTK's WordNetCorpusReader opens (plus lexnames, written here).
_NEEDED = [f"{k}.{p}" for k in ("index", "data") for p in ("noun", "verb", "adj", "adv")] + \
          [f"{p}.exc" for p in ("noun", "verb", "adj", "adv")] + ["index.sense", "cntlist.rev"]
# WordNet 3.0's 45 lexicographer files, in file-number order (lexnames(5WN)).
_LEXNAMES_30 = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body "
    "noun.cognition noun.communication noun.event noun.feeling noun.food noun.group noun.location "
    "noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession noun.process "
    "noun.quantity noun.relation noun.shape noun.state noun.substance noun.time verb.body verb.change "
    "verb.cognition verb.communication verb.competition verb.consumption verb.contact verb.creation "
    "verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl"
).split()
_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}

HOW_TO = (
    "WordNet for NLTK was not found. Get it one of these ways: "
    "(1) offline on Debian/Ubuntu: `apt-get install --no-install-recommends wordnet-base wordnet-sense-index` "
    "then `python -m initreg.tools.wordnet` (or `make wordnet`), which copies the files into "
    "<venv>/share/nltk_data/corpora/wordnet and derives the lexnames file; "
    "(2) with internet: `python -m nltk.downloader wordnet`."
)


def default_dest() -> Path:
    """``sys.prefix/share/nltk_data``: on ``nltk.data.path`` whenever this Python runs."""
    return Path(sys.prefix) / "share" / "nltk_data"


def lexnames_text(man_page: Path = LEXNAMES_MAN) -> str:
    """The ``lexnames`` file, derived from the ``lexnames(5WN)`` man page's table.

    >>> lexnames_text(Path("/nonexistent")).splitlines()[:2]  # built-in WordNet 3.0 table
    ['00\\tadj.all\\t3', '01\\tadj.pert\\t3']
    """
    names: list[str] = []
    if man_page.exists():
        text = gzip.decompress(man_page.read_bytes()).decode("latin-1")
        rows = re.findall(r"^(\d\d)\t([a-z]+\.[A-Za-z]+)\s*\t", text, flags=re.M)
        if rows and [int(n) for n, _ in rows] == list(range(len(rows))):
            names = [name for _, name in rows]
    if not names:
        names = list(_LEXNAMES_30)
    return "".join(f"{i:02d}\t{n}\t{_CATEGORY[n.split('.')[0]]}\n" for i, n in enumerate(names))


def _apt_install(log) -> bool:
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        log("wordnet: Debian's files are missing and apt-get cannot run here (needs root and apt-get)")
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *DEBIAN_PACKAGES]
    for attempt in (1, 2):
        log(f"wordnet: {' '.join(cmd)}")
        if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode == 0:
            return True
        if attempt == 1:  # stale or missing package lists: update once, then retry
            log("wordnet: apt-get update")
            subprocess.run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL)
    return False


def _nltk_wordnet() -> Path | None:
    """A WordNet NLTK already finds on ``nltk.data.path`` (e.g. from ``nltk.downloader``), or None."""
    from ..utils.optional import require

    nltk = require("nltk", extra="text", feature="WordNet")

    try:
        return Path(str(nltk.data.find("corpora/wordnet")))
    except LookupError:
        return None


def _check(dest: Path) -> int:
    """Number of synsets of "good" read from ``dest`` (27 for WordNet 3.0)."""
    from ..utils.optional import require

    nltk = require("nltk", extra="text", feature="WordNet")
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    if str(dest) not in nltk.data.path:
        nltk.data.path.append(str(dest))
    root = nltk.data.find("corpora/wordnet", paths=[str(dest)])
    return len(WordNetCorpusReader(root, None).synsets("good"))


def setup_wordnet(dest: Path | None = None, *, source: Path = DEBIAN_DIR, install: bool = True,
                  log=print) -> Path:
    """Make WordNet readable by NLTK under ``dest/corpora/wordnet``; return that folder.

    Raises ``RuntimeError`` (with `HOW_TO`) when the Debian files are missing and cannot be
    installed.
    """
    dest = Path(dest) if dest is not None else default_dest()
    target = dest / "corpora" / "wordnet"
    stamp = target / _STAMP
    missing = [f for f in _NEEDED if not (source / f).is_file()]
    if missing and install:
        _apt_install(log)
        missing = [f for f in _NEEDED if not (source / f).is_file()]
    if missing:
        if stamp.exists() and all((target / f).is_file() for f in _NEEDED):
            return target  # copied earlier; the Debian packages were removed since
        if (found := _nltk_wordnet()) is not None:
            log(f"wordnet: using NLTK's own WordNet in {found}")
            return found
        raise RuntimeError(f"wordnet: {source} lacks {', '.join(missing)}. {HOW_TO}")
    sig = "\n".join(f"{f} {(source / f).stat().st_size}" for f in sorted(_NEEDED)) + "\n"
    if stamp.exists() and stamp.read_text() == sig and (target / "lexnames").is_file():
        return target  # already done: nothing to copy
    target.mkdir(parents=True, exist_ok=True)
    for f in sorted(p for p in source.iterdir() if p.is_file()):
        shutil.copyfile(f.resolve(), target / f.name)  # a real copy, never a link
    (target / "lexnames").write_text(lexnames_text())
    n = _check(dest)
    if n != 27:
        raise RuntimeError(f"wordnet: NLTK reads {n} synsets of 'good' from {target}; expected 27 (WordNet 3.0)")
    stamp.write_text(sig)
    log(f"wordnet: ready in {target} (synsets('good') = 27)")
    return target


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 epilog="Example: python -m initreg.tools.wordnet --require")
    ap.add_argument("--dest", type=Path, default=None, help="a folder on nltk.data.path (default: %(default)s → "
                    f"{default_dest()})")
    ap.add_argument("--no-install", action="store_true", help="never call apt-get")
    ap.add_argument("--require", action="store_true", default=bool(os.environ.get("CI")),
                    help="exit 1 when WordNet cannot be set up (default when $CI is set)")
    a = ap.parse_args(argv)
    try:
        setup_wordnet(a.dest, install=not a.no_install)
    except RuntimeError as e:
        print(str(e), file=sys.stderr)
        return 1 if a.require else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
