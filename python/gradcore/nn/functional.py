"""gradcore.nn.functional: PyTorch's functional neural-network API.

softmax, log_softmax, nll_loss, pad (constant) and linear run C++ kernels (``gradcore._C``); the other
losses are composed from differentiable ops here, so their gradients (and double backward) come from
autograd. Names, argument order, defaults and error types follow ``torch.nn.functional``.
"""
import math
import warnings

import gradcore
from gradcore import _C

__all__ = [
    "relu", "sigmoid", "tanh", "gelu", "silu", "softmax", "log_softmax", "nll_loss", "cross_entropy", "mse_loss",
    "l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "linear", "dropout", "one_hot", "pad",
    "layer_norm", "embedding",
]

_REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}


def _reduction(reduction, size_average=None, reduce=None):
    """The reduction name, honouring the deprecated ``size_average`` / ``reduce`` flags like PyTorch."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = ("mean" if size_average else "sum") if reduce else "none"
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


# ---- Activations (core ops; these are thin wrappers) ---------------------------------------------------

def relu(input, inplace=False):
    """max(input, 0)."""
    return gradcore.relu_(input) if inplace else gradcore.relu(input)


def sigmoid(input):
    """1 / (1 + exp(-input))."""
    return gradcore.sigmoid(input)


def tanh(input):
    """Hyperbolic tangent."""
    return gradcore.tanh(input)


def gelu(input, approximate="none"):
    """Gaussian error linear unit (``approximate="tanh"`` for the tanh approximation)."""
    return _C.gelu(input, approximate=approximate)


def silu(input, inplace=False):
    """input * sigmoid(input)."""
    return _C.silu_(input) if inplace else _C.silu(input)


# ---- softmax ------------------------------------------------------------------------------------------

def _softmax_dim(name, ndim, stacklevel):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as an "
                  "argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim`` (computed with the max subtracted: large logits are fine)."""
    if dim is None:
        dim = _softmax_dim("softmax", input.dim(), _stacklevel)
    return _C.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """x - logsumexp(x) along ``dim``, computed stably."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.dim(), _stacklevel)
    return _C.log_softmax(input, dim, dtype=dtype)


# ---- Losses ---------------------------------------------------------------------------------------------

def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood of class-index ``target`` under log-probabilities ``input``.

    input (N, C), (C,) or (N, C, d1, ...); target int64 (N,), () or (N, d1, ...). 'mean' divides by the
    total weight of the non-ignored targets.
    """
    reduction = _reduction(reduction, size_average, reduce)
    return _C._nll_loss(input, target, weight, _REDUCTIONS[reduction], ignore_index)


def _class_shape(input, class_dim):
    """A shape that puts a per-class vector along ``class_dim`` of ``input`` (for broadcasting weights)."""
    shape = [1] * input.dim()
    shape[class_dim] = input.shape[class_dim]
    return tuple(shape)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    """log_softmax over the class dim followed by nll_loss (class-index targets), or the cross entropy with
    class-probability targets (a float ``target`` shaped like ``input``); optional label smoothing."""
    reduction = _reduction(reduction, size_average, reduce)
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    class_dim = 0 if input.dim() == 1 else 1
    n_classes = input.shape[class_dim] if input.dim() > 0 else 1
    logp = log_softmax(input, class_dim)
    if target.is_floating_point() and tuple(target.shape) == tuple(input.shape):
        # Class probabilities.
        if ignore_index != -100:
            raise RuntimeError("ignore_index is not supported for floating point target")
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / n_classes
        loss = logp * target
        if weight is not None:
            loss = loss * weight.reshape(_class_shape(input, class_dim))
        if reduction == "none":
            return -loss.sum(class_dim)
        if reduction == "sum":
            return -loss.sum()
        return -loss.sum() / (input.numel() // n_classes if n_classes else 0)
    if label_smoothing <= 0:
        return _C._nll_loss(logp, target, weight, _REDUCTIONS[reduction], ignore_index)
    # Label smoothing with class indices: mix the nll with the mean of -log p over the classes.
    nll = _C._nll_loss(logp, target, weight, _REDUCTIONS[reduction], ignore_index)
    keep = target != ignore_index
    if weight is not None:
        smooth = -(logp * weight.reshape(_class_shape(input, class_dim))).sum(class_dim)
    else:
        smooth = -logp.sum(class_dim)
    smooth = gradcore.where(keep, smooth, 0.0)
    if reduction == "mean":
        if weight is not None:
            # Total weight of the kept targets: nll_loss of the weights themselves, negated.
            w_full = weight.detach().reshape(_class_shape(input, class_dim)).expand(*input.shape)
            total = -_C._nll_loss(w_full, target, None, _REDUCTIONS["sum"], ignore_index)
            ret = smooth.sum() / total
        else:
            ret = smooth.sum() / keep.sum()
    elif reduction == "sum":
        ret = smooth.sum()
    else:
        ret = smooth
    return (1 - label_smoothing) * nll + ret * (label_smoothing / n_classes)


def _warn_size(input, target):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({target.size()}) that is different to the input size ({input.size()}). "
                      "This will likely lead to incorrect results due to broadcasting. Please ensure they have the "
                      "same size.", stacklevel=3)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Mean squared error (inputs broadcast, with PyTorch's warning when their shapes differ)."""
    reduction = _reduction(reduction, size_average, reduce)
    _warn_size(input, target)
    d = input - target
    return _reduce(d * d, reduction)


def _sign(t):
    """sign(t) as a constant (no autograd): -1, 0 or 1 in t's dtype."""
    t = t.detach()
    return (t > 0).to(t.dtype) - (t < 0).to(t.dtype)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Mean absolute error; the gradient at a zero difference is 0, as in PyTorch."""
    reduction = _reduction(reduction, size_average, reduce)
    _warn_size(input, target)
    d = input - target
    return _reduce(d * _sign(d), reduction)


_LOG_CLAMP = -100.0
_TINY = math.exp(_LOG_CLAMP)


def _clamped_log(x):
    """max(log(x), -100) without NaN gradients where x == 0 (the clamped branch gets gradient 0)."""
    small = x.detach() < _TINY
    return gradcore.where(small, _LOG_CLAMP, gradcore.where(small, 1.0, x).log())


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """-(t log x + (1 - t) log(1 - x)) for probabilities x in [0, 1]; each log is clamped at -100 like PyTorch."""
    reduction = _reduction(reduction, size_average, reduce)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.size()}) that is different to the input size ({input.size()}) "
                         "is deprecated. Please ensure they have the same size.")
    x = input.detach()
    if input.numel() and not ((x >= 0).all().item() and (x <= 1).all().item()):
        raise RuntimeError("all elements of input should be between 0 and 1")
    loss = -(target * _clamped_log(input) + (1 - target) * _clamped_log(1 - input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean",
                                     pos_weight=None):
    """Binary cross entropy of sigmoid(input), computed stably from the logits (no overflow for large |x|)."""
    reduction = _reduction(reduction, size_average, reduce)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.size()}) must be the same as input size ({input.size()})")
    # softplus(-x) = log(1 + exp(-x)) = m + log(exp(-m) + exp(-x - m)) with m = max(-x, 0).
    m = gradcore.where(input <= 0, -input, 0.0)
    softplus_neg = ((-m).exp() + (-input - m).exp()).log() + m
    if pos_weight is not None:
        log_weight = (pos_weight - 1) * target + 1
        loss = (1 - target) * input + log_weight * softplus_neg
    else:
        loss = (1 - target) * input + softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# ---- Layers as functions ---------------------------------------------------------------------------------

def linear(input, weight, bias=None):
    """input @ weight.T + bias (AddmmBackward0 for a 2-D input with a bias, as in PyTorch)."""
    return _C.linear(input, weight, bias)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zeroes each element with probability ``p`` and scales the rest by 1 / (1 - p) (identity when not training)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        scale = gradcore.zeros_like(input)
    else:
        keep = gradcore.rand(tuple(input.shape), dtype=input.dtype) < (1.0 - p)
        scale = keep.to(input.dtype) * (1.0 / (1.0 - p))
    return input.mul_(scale) if inplace else input * scale


def one_hot(tensor, num_classes=-1):
    """int64 one-hot encoding: a new last dim of size ``num_classes`` (-1: the largest class + 1)."""
    if tensor.dtype != gradcore.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    values = tensor.reshape(-1).tolist()
    if num_classes == -1:
        if not values:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = max(values) + 1
    if values:
        if min(values) < 0:
            raise RuntimeError("Class values must be non-negative.")
        if max(values) >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    column = tensor.reshape(tuple(tensor.shape) + (1,))
    return (column == gradcore.arange(num_classes)).long()


def pad(input, pad, mode="constant", value=None):
    """Pads (negative amounts crop) the last ``len(pad) // 2`` dims; ``pad`` lists (left, right) pairs starting
    from the last dim. Only ``mode="constant"`` is supported so far."""
    if mode != "constant":
        raise NotImplementedError(f"pad: mode '{mode}' is not supported yet (only 'constant')")
    return _C.constant_pad_nd(input, list(pad), 0 if value is None else value)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last ``len(normalized_shape)`` dims (biased
    variance). Composed from differentiable ops, so its gradients (and double backward) come from autograd."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if k == 0 or tuple(input.shape)[input.dim() - k:] != normalized_shape or input.dim() < k:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
                           f"[*, {', '.join(str(s) for s in normalized_shape)}], but got input of size"
                           f"{list(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != normalized_shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                               f"{list(t.shape)} and normalized_shape = {list(normalized_shape)}")
    dims = tuple(range(input.dim() - k, input.dim()))
    mean = input.mean(dim=dims, keepdim=True)
    centered = input - mean
    var = (centered * centered).mean(dim=dims, keepdim=True)
    out = centered * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` picked by the int64 indices in ``input`` (output shape input.shape + (dim,)); the
    row ``padding_idx`` gets no gradient, as in PyTorch."""
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are not supported")
    if input.dtype != gradcore.int64:
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {input.dtype} instead (while checking arguments for embedding)")
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= weight.size(0):
                raise AssertionError("Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -weight.size(0):
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = weight.size(0) + padding_idx
    flat = input.reshape(-1)
    out = weight.index_select(0, flat)
    if padding_idx is not None and out.requires_grad:
        keep = (flat != padding_idx).unsqueeze(1)
        out = gradcore.where(keep, out, out.detach())
    return out.reshape(tuple(input.shape) + (weight.size(1),))
