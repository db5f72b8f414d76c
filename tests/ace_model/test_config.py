"""Configs as checkpoints store them."""

from __future__ import annotations

from ace_model.config import PRESETS, RunSpec


def test_a_spec_round_trips_and_an_older_one_keeps_its_anchor():
    spec = RunSpec(model=PRESETS["tiny"].model)
    assert RunSpec.from_dict(spec.as_dict()) == spec and spec.model.anchor == "edited"
    saved = spec.as_dict()
    del saved["model"]["anchor"]  # what a checkpoint from before the choice holds
    assert RunSpec.from_dict(saved).model.anchor == "last"
