"""Components by name (registry.py): a misspelt name or key is refused with one line that
suggests the nearest known one, a wrong type names its field, and JSON lists come back as the
tuples the specs hold."""

import pytest

from vaekit import VaekitError
from vaekit.likelihoods import LIKELIHOODS
from vaekit.networks import NETWORKS
from vaekit.registry import Registry, near, tuples


def one_line(call) -> str:
    with pytest.raises(VaekitError) as info:
        call()
    assert "\n" not in str(info.value)
    return str(info.value)


def test_an_unknown_name_suggests_the_nearest_and_lists_the_choices():
    message = one_line(lambda: LIKELIHOODS["bernouli"])
    assert message.startswith("unknown likelihood 'bernouli' (did you mean bernoulli?)")
    assert message.endswith(f"choose from {LIKELIHOODS.names()}")
    far = one_line(lambda: LIKELIHOODS["poisson"])          # nothing close: no suggestion
    assert "did you mean" not in far and "choose from" in far


def test_an_unknown_key_names_its_place_and_the_nearest_key():
    message = one_line(lambda: NETWORKS.spec({"name": "mlp", "encoder_hiden": [8]},
                                             "model.network."))
    assert message.startswith("unknown key model.network.encoder_hiden "
                              "(did you mean encoder_hidden?)")
    assert "the network 'mlp' has [" in message


def test_a_value_of_the_wrong_type_names_its_field():
    message = one_line(lambda: NETWORKS.spec({"name": "mlp", "encoder_hidden": "wide"},
                                             "model.network."))
    assert message.startswith("model.network.encoder_hidden must be")


def test_near_and_tuples():
    assert near("epochz", ["epochs", "lr", "beta"]) == " (did you mean epochs?)"
    assert near("zzz", ["epochs", "lr"]) == ""
    assert tuples([[16, 8], [4]]) == ((16, 8), (4,)) and tuples(3) == 3


def test_a_registry_finds_what_was_registered_sorted_by_name():
    registry = Registry("toy")

    @registry.register
    class B:
        name = "b"

    @registry.register
    class A:
        name = "a"

    assert registry.names() == ["a", "b"] and registry["a"] is A and registry["b"] is B
    assert "unknown toy 'c'" in one_line(lambda: registry["c"])
