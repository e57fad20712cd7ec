"""Output locations and path names are checked before any work: a file where a folder is
needed, a read-only file system, no space, no permission; names with a separator or '..'."""

import doctest
import os
import shutil
from collections import namedtuple

import pytest

import initreg.utils.paths as paths
from initreg.errors import ConfigError
from initreg.utils.paths import safe_name, validate_out_dir, validate_out_file


def test_docstring_examples():
    r = doctest.testmod(paths, optionflags=doctest.ELLIPSIS)
    assert r.failed == 0 and r.attempted > 0


def test_a_new_folder_is_fine_and_nothing_is_created(tmp_path):
    target = tmp_path / "a" / "b"
    assert validate_out_dir(target) == target
    assert list(tmp_path.iterdir()) == []  # not even the write probe is left behind


@pytest.mark.parametrize("sub", ["", "deeper/still"])
def test_a_file_where_a_folder_is_needed(tmp_path, sub):
    f = tmp_path / "taken"
    f.write_text("x")
    with pytest.raises(ConfigError, match=r"--out '.*taken.*': '.*taken' is a file, not a folder"):
        validate_out_dir(f / sub if sub else f)


def test_read_only_file_system(tmp_path, monkeypatch):
    st = os.statvfs(tmp_path)
    fake = namedtuple("statvfs", ["f_flag"])(st.f_flag | os.ST_RDONLY)
    monkeypatch.setattr(paths.os, "statvfs", lambda p: fake)
    with pytest.raises(ConfigError, match="is on a read-only file system"):
        validate_out_dir(tmp_path / "runs", "--out")


def test_no_space(tmp_path, monkeypatch):
    monkeypatch.setattr(paths.shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9 - 5, 5))
    with pytest.raises(ConfigError, match=r"no space left .*0 MiB free"):
        validate_out_dir(tmp_path)


def test_write_failure_names_the_folder(tmp_path, monkeypatch):
    def refuse(**kw):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(paths.tempfile, "mkstemp", refuse)
    with pytest.raises(ConfigError, match=r"cannot write in '.*': Permission denied"):
        validate_out_dir(tmp_path / "x")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_no_permission(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    with pytest.raises(ConfigError, match="cannot write in"):
        validate_out_dir(ro / "runs")


def test_out_file_checks(tmp_path):
    assert validate_out_file(tmp_path / "new" / "r.json", "--json").name == "r.json"
    with pytest.raises(ConfigError, match="--json '.*' is a folder; give a file name"):
        validate_out_file(tmp_path, "--json")
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        validate_out_file(tmp_path / "f" / "r.json", "--json")


@pytest.mark.parametrize("bad", ["../escaped", "a/b", "..", ".", "", "  ", "a\\b", "x..y", "tab\there", "é" * 200])
def test_unsafe_names_are_rejected(bad):
    with pytest.raises(ConfigError, match=r"sweep name .* cannot be used as a folder name: "):
        safe_name(bad, "sweep name")


@pytest.mark.parametrize("good", ["lr-x-init", "C1", "run_2.v3", "ünïcode-ok", "a" * 255])
def test_safe_names_pass(good):
    assert safe_name(good, "name") == good
