"""Model kinds (kinds.py): a setting declared for other kinds is refused with its name, and the
VAE's objectives that a latent family cannot train."""

import pytest

from vaekit import ModelConfig, TrainConfig, VaekitError
from vaekit.config import ModelConfig, TrainConfig
from vaekit.errors import VaekitError
from vaekit.kinds import KINDS
from vaekit.settings import default_of, settings


def other_value(f):
    """A value of field f's type other than its default."""
    default = default_of(f)
    if isinstance(default, bool):
        return not default
    if isinstance(default, (int, float)):
        return default + 1
    if default is None:
        return 0.5
    return {"objective": "iwae", "lr_schedule": "cosine"}[f.name]


KIND_FIELDS = [f for f in settings(TrainConfig) if f.metadata["kinds"]]


@pytest.mark.parametrize("f", KIND_FIELDS, ids=lambda f: f.name)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_setting_for_other_kinds_is_refused_with_its_name(kind, f):
    config = TrainConfig(model=ModelConfig(kind=kind).validate(), **{f.name: other_value(f)})
    if kind in f.metadata["kinds"]:
        KINDS[kind].check_training(config)
        return
    with pytest.raises(VaekitError, match=f"^{f.name} is for"):
        KINDS[kind].check_training(config)


def test_the_kinds_declarations_cover_the_vae_objective():
    assert {f.name for f in KIND_FIELDS} >= {"objective", "k", "beta", "warmup_epochs",
                                              "free_bits", "lr_schedule"}


def test_iwae_training_of_categorical_latents_is_refused():
    cfg = TrainConfig(model=ModelConfig(latent="categorical"), objective="iwae", k=5)
    with pytest.raises(VaekitError, match="not available for categorical"):
        cfg.validate()
