"""The command line's parser (cli/__init__.py): help that teaches: every option of every command
states its default, the lecture's words are where a student looks, and --help works for
every command."""

import pytest

from vaekit.cli import build_parser

from conftest import vaekit


# options that take no value or name where things go: they have nothing to default to
NO_DEFAULT = {"-h", "--help", "--config", "--print-config", "--resume", "--no-progress",
              "--version", "--json", "--out", "--dataset", "--n", "--name"}


def commands():
    return build_parser().commands


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_option_states_its_default(name):
    parser = commands()[name]
    missing = [a.option_strings[-1] for a in parser._actions if a.option_strings
               and not set(a.option_strings) & NO_DEFAULT and "default" not in (a.help or "")
               and not a.choices]
    assert not missing, f"vaekit {name}: {missing} state no default"


def test_train_help_uses_the_lectures_words():
    text = " ".join(commands()["train"].format_help().split())
    for word in ("ELBO", "IWAE", "Gumbel-softmax", "variational EM", "amortized",
                 "semi-amortized", "free bits", "posterior collapse", "TOML"):
        assert word.lower() in text.lower(), word
    assert "times an amortized one on digits" in text          # the measured cost of vem


def test_help_for_every_command():
    for cmd in ("train", "evaluate", "sample", "reconstruct", "traverse"):
        r = vaekit(cmd, "--help")
        assert r.returncode == 0 and "usage: vaekit" in r.stdout
