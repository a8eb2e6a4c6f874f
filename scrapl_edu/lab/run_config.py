"""``config.json``: the configuration a run folder holds, written before the run's first step.

A run writes its whole :class:`~scrapl_edu.lab.config.LabConfig` (fast mode included) to
``config.json`` as soon as its folder is ready, before θ-IS and the first step
(:func:`write_config`, atomically). It is the one record that :func:`scrapl_edu.lab.run`
(``--resume``) and :func:`scrapl_edu.lab.compare` (reuse, ``--reuse``) compare a wanted
configuration against (:func:`recorded_config`).

Folders written before ``config.json`` existed (the committed runs under
``data/results/lab/**/runs/``) hold their configuration only inside ``results.json`` (and
the checkpoint): for them that copy is used instead, so they stay reusable. Where both
exist they must agree; a folder whose ``config.json`` and ``results.json`` (or checkpoint)
disagree was edited by hand, and is not trusted.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from scrapl_edu.lab.config import LabConfig
from scrapl_edu.lab.files import atomic_write_json, read_json
from scrapl_edu.lab.results import config_differences

__all__ = ["CONFIG_JSON", "read_config", "recorded_config", "write_config"]

#: file name of a run's configuration inside its folder
CONFIG_JSON = "config.json"
#: the configuration fields' defaults: a field a recorded configuration lacks (written
#: before the field existed) counts as its default
DEFAULTS = asdict(LabConfig())


def write_config(folder: str | Path, config: LabConfig) -> None:
    """Write ``config`` to ``folder/config.json`` (atomically): every field, ``fast`` too."""
    atomic_write_json(Path(folder) / CONFIG_JSON, asdict(config))


def read_config(folder: str | Path) -> dict[str, Any] | None:
    """The configuration in ``folder/config.json`` (None when the folder has none).

    Raises:
        ValueError: the file is unreadable, cut short or not a JSON object (naming it).
    """
    f = Path(folder) / CONFIG_JSON
    if not f.exists():
        return None
    config = read_json(f)
    if not isinstance(config, dict):
        raise ValueError(f"{f} is not a run configuration (a JSON object); delete it and rerun")
    return config


def recorded_config(folder: str | Path, copy: dict[str, Any], copy_name: str) -> dict[str, Any]:
    """The configuration ``folder`` was run with: ``config.json``, else the older record.

    ``copy`` is the configuration another file of the folder holds (``results.json["config"]``
    or the checkpoint's), named ``copy_name`` in messages. Without ``config.json`` (a folder
    written before it existed) ``copy`` is the record; with it, the two must agree.

    Raises:
        ValueError: ``config.json`` is unreadable, or it and ``copy`` disagree (naming the
            fields), so that the folder is rerun rather than trusted.
    """
    config = read_config(folder)
    if config is None:
        return copy
    diff = config_differences(copy, config, DEFAULTS)
    if diff:
        fields = ", ".join(d.split(":")[0] for d in diff)
        raise ValueError(
            f"{Path(folder) / CONFIG_JSON} and {copy_name} disagree on {fields}: one of them "
            "was edited by hand"
        )
    return config
