"""Activation functions by name, shared by every network family."""

from torch import nn

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU, "softplus": nn.Softplus,
               "gelu": nn.GELU, "leaky_relu": nn.LeakyReLU, "silu": nn.SiLU}
