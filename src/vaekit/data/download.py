"""Checksummed downloads into the cache (pooch), or a local copy when one exists.

A `Remote` names the files of a data set at a base URL, each with its MD5. `fetch` returns a
folder holding all of them: the `dir_env` variable's, else the first of `local_dirs` that has
them, else the cache, downloading what is missing. A file whose MD5 does not match is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import VaekitError


@dataclass(frozen=True)
class Remote:
    name: str
    base_url: str
    md5: dict                         # file name -> md5 hex digest
    local_dirs: tuple[str, ...] = ()  # checked before downloading
    url_env: str = ""                 # environment variable that overrides base_url
    dir_env: str = ""                 # environment variable naming a folder with the files


def cache_dir() -> Path:
    """$VAEKIT_CACHE, else $VAEKIT_DATA (before 0.4), else the OS cache folder (~/.cache/vaekit)."""
    import pooch
    return Path(os.environ.get("VAEKIT_CACHE") or os.environ.get("VAEKIT_DATA")
                or pooch.os_cache("vaekit"))


def fetch(remote: Remote, base_url: str | None = None, directory: Path | None = None) -> Path:
    if remote.dir_env and os.environ.get(remote.dir_env):
        return Path(os.environ[remote.dir_env])
    for d in remote.local_dirs:
        if all((Path(d) / f).is_file() for f in remote.md5):
            return Path(d)
    import pooch
    import requests
    url = base_url or os.environ.get(remote.url_env) or remote.base_url
    directory = Path(directory or cache_dir() / remote.name)
    for fname, md5 in remote.md5.items():
        try:
            pooch.retrieve(url.rstrip("/") + "/" + fname, known_hash=f"md5:{md5}", fname=fname,
                           path=directory, progressbar=False)
        except ValueError as e:  # pooch's checksum mismatch; it deletes the bad file
            raise VaekitError(f"{remote.name}: {fname} failed its checksum, refused "
                              f"({str(e).splitlines()[0]})") from None
        except (requests.RequestException, OSError) as e:
            raise VaekitError(f"{remote.name}: could not download {fname} from {url}: "
                              f"{type(e).__name__}") from None
    return directory
