"""gradcore.nn: neural-network building blocks with PyTorch's API: Module, Parameter, layers, containers,
losses, ``gradcore.nn.functional`` and ``gradcore.nn.init``."""
from . import functional  # noqa: F401
from . import init  # noqa: F401
from .parameter import Parameter  # noqa: F401
from .module import Module  # noqa: F401
from .modules import (  # noqa: F401
    Identity, Linear, ReLU, GELU, SiLU, Tanh, Sigmoid, Softmax, LogSoftmax, Dropout, Flatten, LayerNorm, Embedding,
    Sequential, ModuleList, ModuleDict, MSELoss, L1Loss, CrossEntropyLoss, NLLLoss, BCELoss, BCEWithLogitsLoss,
)
