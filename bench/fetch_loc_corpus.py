"""Fetch the Library of Congress "BooksAll" sample (250,000 MARC records) into bench/.data/.

The file ships inside pymarc's source distribution; pip downloads it from the package
index as usual. Nothing here is committed (bench/.data/ is git-ignored).

    python bench/fetch_loc_corpus.py      # prints the path of the corpus file
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

DATA = Path(__file__).resolve().parent / ".data"
VERSION = "5.4.0"
MEMBER = f"pymarc-{VERSION}/BooksAll.2016.part01.utf8"


def fetch() -> Path:
    """The corpus file, downloaded and extracted if it is not there yet."""
    target = DATA / MEMBER
    if target.is_file():
        return target
    DATA.mkdir(parents=True, exist_ok=True)
    archive = DATA / f"pymarc-{VERSION}.tar.gz"
    if not archive.is_file():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             f"pymarc=={VERSION}", "-d", str(DATA)],
            check=True,
        )  # fmt: skip
    with tarfile.open(archive) as tar:
        tar.extract(tar.getmember(MEMBER), DATA, filter="data")
    return target


if __name__ == "__main__":
    print(fetch())
