"""gradcore.optim: optimizers (SGD, Adam, AdamW, RMSprop) whose update steps run in C++, and learning-rate
schedulers (``gradcore.optim.lr_scheduler``)."""
from .optimizer import Optimizer  # noqa: F401
from ._optimizers import SGD, Adam, AdamW, RMSprop  # noqa: F401
from . import lr_scheduler  # noqa: F401
