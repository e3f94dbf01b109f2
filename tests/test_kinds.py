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
    return {"objective": "iwae", "lr_schedule": "cosine", "gradient": "dreg"}[f.name]


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
    assert {f.name for f in KIND_FIELDS} >= {"objective", "k", "m", "ciwae_beta", "gradient",
                                              "beta", "warmup_epochs", "free_bits",
                                              "lr_schedule"}


@pytest.mark.parametrize("objective", ["iwae", "miwae", "ciwae", "piwae"])
def test_iwae_training_of_categorical_latents_is_refused(objective):
    cfg = TrainConfig(model=ModelConfig(latent="categorical"), objective=objective, k=5)
    with pytest.raises(VaekitError, match=f"the {objective} objective is not available for "
                                          "categorical"):
        cfg.validate()


@pytest.mark.parametrize("latent", ["hierarchical", "joint", "categorical"])
def test_dreg_is_refused_where_q_has_parameters_besides_the_encoders_output(latent):
    """hierarchical: q(z_2|z_1)'s network; joint: stratified draws; categorical: no density."""
    cfg = TrainConfig(model=ModelConfig(latent=latent).validate(), objective="iwae", k=5,
                      gradient="dreg")
    if latent == "categorical":
        cfg.objective = "elbo"      # its iwae is refused first; check the dreg rule alone
    with pytest.raises(VaekitError, match=f"the dreg gradient is not available for {latent}"):
        KINDS["vae"].check_training(cfg)
    cfg.model.latent = ModelConfig(latent="gaussian").validate().latent
    KINDS["vae"].check_training(cfg)


@pytest.mark.parametrize("flow", ["planar", "iaf"])
def test_dreg_is_refused_for_a_flow_posterior(flow):
    """A flow's log q at stopped parameters would need its inverse (and an iaf's MADE weights are
    not the encoder's output): refused in one line, while the same family without a flow trains."""
    latent = {"name": "gaussian", "flow": flow, "flow_steps": 2}
    cfg = TrainConfig(model=ModelConfig(latent=latent).validate(), objective="iwae", k=5,
                      gradient="dreg")
    with pytest.raises(VaekitError, match="not available for gaussian latents as configured"):
        KINDS["vae"].check_training(cfg)
    cfg.model.latent = ModelConfig(latent="gaussian").validate().latent
    KINDS["vae"].check_training(cfg)
