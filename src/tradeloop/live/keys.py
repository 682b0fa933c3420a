"""API keys for a live account: from named environment variables or a key file outside the repo.

Keys are never part of the run config (which is meant to be committed and shared): the config
names *where* they are — ``keys = { api_key = "OKX_MAIN_KEY", ... }`` (environment variable
names) or ``keys_file = "/etc/tradeloop/okx-main.toml"`` (a TOML file with ``api_key``,
``secret``, ``passphrase``). A key file must not sit inside a git work tree (it would be one
``git add`` away from being published) and must not be readable by group or others. Every value
is registered with the log redactor before anything can print it; nothing here writes keys
anywhere.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path

from tradeloop.core.errors import ConfigError
from tradeloop.core.log import register_secret


def _inside_git_tree(path: Path) -> Path | None:
    for parent in path.resolve().parents:
        if (parent / ".git").exists():
            return parent
    return None


def read_key_file(path: Path, where: str) -> dict[str, str]:
    """The credentials in ``path`` (ConfigError naming the key on any problem)."""
    repo = _inside_git_tree(path)
    if repo is not None:
        raise ConfigError(f"{where}: keys_file {path} is inside the git work tree {repo}; "
                          "keep keys outside any repository")  # fmt: skip
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{where}: keys_file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:  # say nothing of its bytes: they may be a secret's
        raise ConfigError(f"{where}: keys_file {path} is not UTF-8 text") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{where}: keys_file {path} is readable by others "
                          f"(mode {stat.S_IMODE(mode):o}); chmod 600 it")  # fmt: skip
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        # the parser's message may quote the line, i.e. a secret: say only where
        raise ConfigError(f"{where}: keys_file {path} is not valid TOML") from None
    out: dict[str, str] = {}
    for k, v in data.items():
        if not isinstance(v, str):
            raise ConfigError(f"{where}: keys_file {path}: {k} must be text")
        register_secret(v)
        out[k] = v
    return out


def resolve_keys(
    needed: Mapping[str, str],
    env_names: Mapping[str, str],
    key_file: Path | None,
    where: str,
    env: Mapping[str, str] | None = None,
    optional: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """Credentials for a venue whose factory takes ``needed`` (name -> the registry's default
    environment variable). ``env_names`` overrides the variable per credential (several
    accounts of one venue need several); ``key_file`` supplies values directly. Missing
    values (other than the venue's ``optional`` ones, e.g. an FTX subaccount) are one
    ConfigError naming what to set."""
    env = os.environ if env is None else env
    unknown = sorted(set(env_names) - set(needed))
    if unknown:
        raise ConfigError(f"{where}: keys: unknown credential {unknown[0]!r} "
                          f"(this venue takes {', '.join(needed) or 'none'})")  # fmt: skip
    from_file = read_key_file(key_file, where) if key_file is not None else {}
    out: dict[str, str] = {}
    missing: list[str] = []
    for name, default_var in needed.items():
        value = from_file.get(name)
        if value is None:
            var = env_names.get(name, default_var)
            value = env.get(var, "")
            if not value and name not in optional:
                missing.append(var)
        if value:
            register_secret(value)
        out[name] = value
    if missing and not from_file:
        raise ConfigError(f"{where}: set {', '.join(missing)} (API keys come from the "
                          "environment or keys_file, never the config)")  # fmt: skip
    if missing:
        lacking = [n for n in needed if n not in from_file and n not in optional]
        raise ConfigError(f"{where}: keys_file {key_file} lacks {', '.join(lacking)}")
    return out
