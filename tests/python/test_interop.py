"""Interop with numpy and DLPack, and the Python protocols of Tensor.

* numpy: numpy() / from_numpy share memory both ways, the dtype mapping, lifetimes, strides, the
  buffer protocol (np.asarray is zero-copy) and tensor(ndarray) copying;
* DLPack: gradcore.from_dlpack of numpy arrays and torch tensors, numpy.from_dlpack and
  torch.from_dlpack of gradcore tensors (memory shared both ways, strided views, 0-dim and bool),
  __dlpack_device__, and the exporter keeping storage alive;
* Python protocols: tolist, item, len, iteration, bool/float/int, format, Size, dtypes.

Tests that need torch import it with pytest.importorskip; everything else runs without it.
"""

import gc
import weakref

import numpy as np
import pytest

import gradcore

NP_OF = {gradcore.float32: np.float32, gradcore.float64: np.float64, gradcore.int64: np.int64,
         gradcore.bool: np.bool_}


def _churn_allocator():
    """Allocate and free a few buffers, so that use-after-free would likely show up as wrong values."""
    for n in (5, 64, 1000):
        for _ in range(4):
            gradcore.full((n,), -7.0).sum()
            np.full(n, -7.0)


# ---- numpy(): tensor -> ndarray ---------------------------------------------------------------------------


def test_numpy_shares_memory_both_ways():
    t = gradcore.zeros(2, 3)
    a = t.numpy()
    assert isinstance(a, np.ndarray)
    assert a.shape == (2, 3) and a.dtype == np.float32
    a[0, 1] = 5.0  # numpy -> tensor
    assert t.tolist()[0][1] == 5.0
    t.add_(1)  # tensor -> numpy
    np.testing.assert_array_equal(a, [[1, 6, 1], [1, 1, 1]])
    assert a.ctypes.data == t.data_ptr()


@pytest.mark.parametrize("dtype", [gradcore.float32, gradcore.float64, gradcore.int64, gradcore.bool], ids=repr)
def test_numpy_dtype_mapping(dtype):
    t = gradcore.ones(3, dtype=dtype)
    a = t.numpy()
    assert a.dtype == NP_OF[dtype]
    assert np.asarray(t).dtype == NP_OF[dtype]
    back = gradcore.from_numpy(a)
    assert back.dtype == dtype
    assert back.data_ptr() == t.data_ptr()


def test_numpy_keeps_tensor_memory_alive():
    t = gradcore.arange(6.0)
    a = t.numpy()
    del t
    gc.collect()
    _churn_allocator()
    np.testing.assert_array_equal(a, [0, 1, 2, 3, 4, 5])


def test_numpy_of_non_contiguous_view_shares_memory():
    base = gradcore.arange(12.0).view(3, 4)
    col = base.select(1, 1)
    a = col.numpy()
    np.testing.assert_array_equal(a, [1, 5, 9])
    assert a.strides == (16,)
    a[2] = -1
    assert base.tolist()[2][1] == -1.0


def test_numpy_of_0dim():
    a = gradcore.tensor(2.5).numpy()
    assert a.shape == () and a.dtype == np.float32 and float(a) == 2.5


def test_numpy_on_tensor_requiring_grad_raises():
    t = gradcore.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad. Use "
                                           r"tensor.detach\(\).numpy\(\) instead."):
        t.numpy()
    np.testing.assert_array_equal(t.detach().numpy(), [1, 1])
    np.testing.assert_array_equal(t.numpy(force=True), [1, 1])


def test_np_asarray_on_tensor_requiring_grad_raises_like_torch():
    # torch: np.asarray(t) raises the same error as t.numpy() when t requires grad; gradcore's buffer
    # protocol must not bypass that check.
    t = gradcore.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        np.asarray(t)


def test_numpy_requires_grad_error_matches_torch():
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError) as ref:
        torch.ones(2, requires_grad=True).numpy()
    with pytest.raises(RuntimeError) as ours:
        gradcore.ones(2, requires_grad=True).numpy()
    assert str(ours.value) == str(ref.value)


# ---- from_numpy: ndarray -> tensor ----------------------------------------------------------------------


def test_from_numpy_shares_memory_both_ways():
    arr = np.arange(6.0).reshape(2, 3)
    t = gradcore.from_numpy(arr)
    assert t.dtype == gradcore.float64 and t.shape == (2, 3)
    assert t.data_ptr() == arr.ctypes.data
    arr[0, 0] = 100.0
    assert t.tolist()[0][0] == 100.0
    t.mul_(2)
    np.testing.assert_array_equal(arr, [[200, 2, 4], [6, 8, 10]])
    assert not t.requires_grad and t.is_leaf


@pytest.mark.parametrize("np_dtype,dtype", [(np.float32, gradcore.float32), (np.float64, gradcore.float64),
                                            (np.int64, gradcore.int64), (np.bool_, gradcore.bool)])
def test_from_numpy_dtypes(np_dtype, dtype):
    arr = np.array([1, 0, 1], dtype=np_dtype)
    t = gradcore.from_numpy(arr)
    assert t.dtype == dtype
    assert t.tolist() == arr.tolist()


def test_from_numpy_keeps_array_alive():
    arr = np.arange(5, dtype=np.float32)
    ref = weakref.ref(arr)
    t = gradcore.from_numpy(arr)
    del arr
    gc.collect()
    assert ref() is not None
    _churn_allocator()
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    del t
    gc.collect()
    assert ref() is None  # and released with the tensor


@pytest.mark.parametrize("np_dtype", [np.int32, np.float16, np.uint8, np.int8, np.complex64])
def test_from_numpy_unsupported_dtype(np_dtype):
    with pytest.raises(TypeError, match=r"can't convert np.ndarray of type .*The only supported types are"):
        gradcore.from_numpy(np.ones(3, dtype=np_dtype))


def test_from_numpy_negative_strides():
    with pytest.raises(ValueError, match="negative"):
        gradcore.from_numpy(np.arange(4.0)[::-1])
    with pytest.raises(ValueError, match="negative"):
        gradcore.from_numpy(np.ones((2, 3))[:, ::-1])


def test_from_numpy_negative_strides_matches_torch():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError) as ref:
        torch.from_numpy(np.arange(4.0)[::-1])
    with pytest.raises(ValueError) as ours:
        gradcore.from_numpy(np.arange(4.0)[::-1])
    assert str(ours.value) == str(ref.value)


def test_from_numpy_non_contiguous_round_trip():
    full = np.arange(12, dtype=np.int64).reshape(3, 4)
    arr = full[:, ::2]
    t = gradcore.from_numpy(arr)
    assert t.shape == (3, 2)
    assert t.stride() == (4, 2)
    assert not t.is_contiguous()
    assert t.tolist() == arr.tolist()
    back = t.numpy()
    assert np.shares_memory(back, arr)
    np.testing.assert_array_equal(back, arr)
    t.mul_(10)
    np.testing.assert_array_equal(arr, [[0, 20], [40, 60], [80, 100]])
    np.testing.assert_array_equal(full, [[0, 1, 20, 3], [40, 5, 60, 7], [80, 9, 100, 11]])
    # ops on the strided tensor read the right elements
    assert (t + 1).tolist() == [[1, 21], [41, 61], [81, 101]]


def test_from_numpy_fortran_order():
    arr = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    t = gradcore.from_numpy(arr)
    assert t.tolist() == arr.tolist()
    assert t.stride() == (1, 2)


def test_np_asarray_is_zero_copy():
    t = gradcore.arange(6.0).view(2, 3)
    a = np.asarray(t)
    assert np.shares_memory(a, t.numpy())
    assert a.ctypes.data == t.data_ptr()
    a[1, 2] = 42
    assert t.tolist()[1][2] == 42.0
    m = memoryview(t)
    assert m.format == "f" and m.shape == (2, 3) and not m.readonly


def test_np_asarray_of_strided_view():
    t = gradcore.arange(12.0).view(3, 4).select(1, 3)
    a = np.asarray(t)
    np.testing.assert_array_equal(a, [3, 7, 11])
    assert a.ctypes.data == t.data_ptr()


def test_tensor_of_ndarray_copies():
    arr = np.arange(4.0)
    t = gradcore.tensor(arr)
    assert t.dtype == gradcore.float64
    arr[0] = 99
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0]
    t.add_(1)
    assert arr.tolist() == [99.0, 1.0, 2.0, 3.0]
    assert not np.shares_memory(np.asarray(t), arr)
    strided = np.arange(12, dtype=np.int64).reshape(3, 4)[:, ::2]
    c = gradcore.tensor(strided)
    assert c.tolist() == strided.tolist() and c.is_contiguous()


# ---- DLPack ---------------------------------------------------------------------------------------------


def test_from_dlpack_numpy_shares_memory():
    arr = np.arange(6.0).reshape(2, 3)
    t = gradcore.from_dlpack(arr)
    assert t.dtype == gradcore.float64 and t.shape == (2, 3)
    assert t.data_ptr() == arr.ctypes.data
    arr[0, 0] = 42
    assert t.tolist()[0][0] == 42.0
    t.add_(1)
    np.testing.assert_array_equal(arr[0], [43, 2, 3])


def test_from_dlpack_numpy_keeps_array_alive():
    arr = np.arange(4.0)
    ref = weakref.ref(arr)
    t = gradcore.from_dlpack(arr)
    del arr
    gc.collect()
    assert ref() is not None
    _churn_allocator()
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0]
    del t
    gc.collect()
    assert ref() is None


def test_from_dlpack_numpy_strided_and_bool():
    arr = np.arange(12.0).reshape(3, 4)[:, 1::2]
    t = gradcore.from_dlpack(arr)
    assert t.tolist() == arr.tolist()
    assert t.stride() == (4, 2)
    b = np.array([True, False, True])
    tb = gradcore.from_dlpack(b)
    assert tb.dtype == gradcore.bool and tb.tolist() == [True, False, True]


def test_from_dlpack_unsupported_dtype():
    with pytest.raises(TypeError, match="unsupported DLPack dtype"):
        gradcore.from_dlpack(np.ones(2, dtype=np.int32))


def test_numpy_from_dlpack_of_gradcore_shares_memory():
    t = gradcore.arange(6.0).view(2, 3)
    a = np.from_dlpack(t)
    assert a.shape == (2, 3) and a.dtype == np.float32
    assert a.ctypes.data == t.data_ptr()
    t.add_(1)
    np.testing.assert_array_equal(a, [[1, 2, 3], [4, 5, 6]])
    if a.flags.writeable:
        a[0, 0] = -5
        assert t.tolist()[0][0] == -5.0


def test_numpy_from_dlpack_strided_0dim_and_bool():
    base = gradcore.arange(12.0).view(3, 4)
    col = base.select(1, 0)
    a = np.from_dlpack(col)
    np.testing.assert_array_equal(a, [0, 4, 8])
    assert a.strides == (16,)
    base.mul_(2)
    np.testing.assert_array_equal(a, [0, 8, 16])

    z = gradcore.tensor(3.5)
    az = np.from_dlpack(z)
    assert az.shape == () and float(az) == 3.5
    z.fill_(1.25)
    assert float(az) == 1.25

    b = gradcore.tensor([True, False, True])
    ab = np.from_dlpack(b)
    assert ab.dtype == np.bool_
    assert ab.tolist() == [True, False, True]


def test_dlpack_device():
    assert gradcore.ones(2).__dlpack_device__() == (1, 0)
    assert gradcore.tensor(1).__dlpack_device__() == (1, 0)


def test_dlpack_capsules():
    c = gradcore.ones(2).__dlpack__()
    assert "dltensor" in repr(c)
    cv = gradcore.ones(2).__dlpack__(max_version=(1, 0))
    assert "dltensor_versioned" in repr(cv)
    # an unconsumed capsule can be imported once
    t = gradcore.from_dlpack(gradcore.arange(3.0).__dlpack__())
    assert t.tolist() == [0.0, 1.0, 2.0]
    # dropping unconsumed capsules frees them (no leak, no crash)
    del c, cv
    gc.collect()


def test_dlpack_refuses_tensor_requiring_grad():
    with pytest.raises(RuntimeError, match="require gradient"):
        gradcore.ones(2, requires_grad=True).__dlpack__()


def test_gradcore_from_dlpack_of_gradcore():
    x = gradcore.arange(3.0)
    y = gradcore.from_dlpack(x)
    y.add_(1)
    assert x.tolist() == [1.0, 2.0, 3.0]


def test_dlpack_exporter_keeps_storage_alive():
    arr = np.arange(5, dtype=np.float32)
    ref = weakref.ref(arr)
    t = gradcore.from_numpy(arr)  # storage = arr's memory
    del arr
    exported = np.from_dlpack(t)
    del t
    gc.collect()
    assert ref() is not None, "the DLPack consumer must keep the gradcore storage alive"
    _churn_allocator()
    np.testing.assert_array_equal(exported, [0, 1, 2, 3, 4])
    del exported
    gc.collect()
    assert ref() is None, "the storage must be released when the consumer is done"


def test_torch_from_dlpack_of_gradcore_shares_memory():
    torch = pytest.importorskip("torch")
    t = gradcore.arange(6.0).view(2, 3)
    tt = torch.from_dlpack(t)
    assert tt.dtype == torch.float32 and tuple(tt.shape) == (2, 3)
    assert tt.data_ptr() == t.data_ptr()
    tt[0, 0] = 42
    assert t.tolist()[0][0] == 42.0
    t.mul_(2)
    assert tt.tolist() == [[84.0, 2.0, 4.0], [6.0, 8.0, 10.0]]


def test_torch_from_dlpack_strided_0dim_bool_int64():
    torch = pytest.importorskip("torch")
    base = gradcore.arange(12.0).view(3, 4)
    col = base.select(1, 1)
    tc = torch.from_dlpack(col)
    assert tc.tolist() == [1.0, 5.0, 9.0]
    assert tc.stride() == (4,) and tc.storage_offset() == 1
    tc[0] = -1
    assert base.tolist()[0][1] == -1.0
    col.add_(100)
    assert tc.tolist() == [99.0, 105.0, 109.0]

    z = gradcore.tensor(3.5)
    tz = torch.from_dlpack(z)
    assert tz.shape == () and tz.item() == 3.5
    tz.fill_(1.25)
    assert z.item() == 1.25

    b = gradcore.tensor([True, False, True])
    tb = torch.from_dlpack(b)
    assert tb.dtype == torch.bool
    tb[1] = True
    assert b.tolist() == [True, True, True]

    i = gradcore.arange(4)
    ti = torch.from_dlpack(i)
    assert ti.dtype == torch.int64 and ti.tolist() == [0, 1, 2, 3]


def test_torch_from_dlpack_keeps_gradcore_storage_alive():
    torch = pytest.importorskip("torch")
    arr = np.arange(5, dtype=np.float32)
    ref = weakref.ref(arr)
    t = gradcore.from_numpy(arr)
    del arr
    tt = torch.from_dlpack(t)
    del t
    gc.collect()
    assert ref() is not None
    _churn_allocator()
    assert tt.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    del tt
    gc.collect()
    assert ref() is None


def test_gradcore_from_dlpack_of_torch_shares_memory():
    torch = pytest.importorskip("torch")
    tt = torch.arange(6.0).view(2, 3)
    t = gradcore.from_dlpack(tt)
    assert t.dtype == gradcore.float32 and t.shape == (2, 3)
    assert t.data_ptr() == tt.data_ptr()
    tt[0, 0] = 42
    assert t.tolist()[0][0] == 42.0
    t.mul_(2)
    assert tt.tolist() == [[84.0, 2.0, 4.0], [6.0, 8.0, 10.0]]


def test_gradcore_from_dlpack_of_torch_strided_0dim_bool():
    torch = pytest.importorskip("torch")
    tt = torch.arange(12.0).view(3, 4).t()
    t = gradcore.from_dlpack(tt)
    assert t.shape == (4, 3) and t.stride() == (1, 4)
    assert t.tolist() == tt.tolist()
    tt[0, 2] = -3
    assert t.tolist()[0][2] == -3.0

    t0 = gradcore.from_dlpack(torch.tensor(2.5, dtype=torch.float64))
    assert t0.shape == () and t0.dtype == gradcore.float64 and t0.item() == 2.5

    tb = gradcore.from_dlpack(torch.tensor([True, False]))
    assert tb.dtype == gradcore.bool and tb.tolist() == [True, False]


def test_gradcore_from_dlpack_keeps_torch_storage_alive():
    torch = pytest.importorskip("torch")
    tt = torch.arange(1000.0)
    t = gradcore.from_dlpack(tt)
    del tt
    gc.collect()
    for _ in range(10):
        torch.full((1000,), -7.0)
    _churn_allocator()
    assert t.tolist() == [float(i) for i in range(1000)]


def test_torch_tensor_requiring_grad_not_exported():
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        torch.from_dlpack(gradcore.ones(2, requires_grad=True))


# ---- Python protocols ------------------------------------------------------------------------------------------


def test_tolist():
    assert gradcore.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert gradcore.tensor([1.5, 2.5]).tolist() == [1.5, 2.5]
    assert gradcore.tensor(2.5).tolist() == 2.5
    assert gradcore.tensor([True, False]).tolist() == [True, False]
    assert gradcore.zeros(0, 3).tolist() == []
    v = gradcore.tensor([[1, 2], [3, 4]]).tolist()
    assert type(v[0][0]) is int
    assert type(gradcore.tensor([True]).tolist()[0]) is bool
    assert type(gradcore.tensor([1.0]).tolist()[0]) is float
    assert gradcore.arange(12).view(3, 4).select(1, 2).tolist() == [2, 6, 10]


def test_tolist_matches_torch():
    torch = pytest.importorskip("torch")
    data = [[1.25, -2.0, 3.5], [0.0, 1e-3, 7.0]]
    for dt in ("float32", "float64", "int64", "bool"):
        assert gradcore.tensor(data).to(getattr(gradcore, dt)).tolist() == \
            torch.tensor(data).to(getattr(torch, dt)).tolist()


def test_item():
    f = gradcore.tensor(2.5).item()
    i = gradcore.tensor([3]).item()
    b = gradcore.tensor([[True]]).item()
    d = gradcore.tensor(0.1, dtype=gradcore.float64).item()
    assert (f, i, b, d) == (2.5, 3, True, 0.1)
    assert type(f) is float and type(i) is int and type(b) is bool
    assert gradcore.tensor(0.1).item() == float(np.float32(0.1))


def test_len_and_iteration():
    t = gradcore.tensor([[1, 2], [3, 4], [5, 6]])
    assert len(t) == 3
    rows = list(t)
    assert len(rows) == 3
    assert all(isinstance(r, gradcore.Tensor) for r in rows)
    assert [r.tolist() for r in rows] == [[1, 2], [3, 4], [5, 6]]
    assert [x.item() for x in gradcore.tensor([7.0, 8.0])] == [7.0, 8.0]
    assert len(gradcore.zeros(0, 2)) == 0 and list(gradcore.zeros(0, 2)) == []
    # rows are views
    rows[1].mul_(10)
    assert t.tolist()[1] == [30, 40]


def test_bool_float_int():
    assert bool(gradcore.tensor(0.0)) is False
    assert bool(gradcore.tensor([2])) is True
    assert bool(gradcore.tensor([[True]])) is True
    assert bool(gradcore.tensor(float("nan"))) is True
    assert float(gradcore.tensor(3)) == 3.0 and type(float(gradcore.tensor(3))) is float
    assert float(gradcore.tensor([[2.5]])) == 2.5
    assert int(gradcore.tensor(3.7)) == 3
    assert int(gradcore.tensor(-2.7)) == -2
    assert type(int(gradcore.tensor(3.7))) is int
    assert int(gradcore.tensor(2 ** 40)) == 2 ** 40


def test_format_0dim():
    assert f"{gradcore.tensor(3.14159):.2f}" == "3.14"
    assert f"{gradcore.tensor(2):5d}" == "    2"
    assert f"{gradcore.tensor(1.5, dtype=gradcore.float64):.3e}" == "1.500e+00"
    assert f"{gradcore.tensor(True)}" == "True"
    assert f"{gradcore.ones(2)}" == str(gradcore.ones(2)) == "tensor([1., 1.])"
    assert "{:.2f}".format(gradcore.tensor(0.5)) == "0.50"


def test_format_matches_torch():
    torch = pytest.importorskip("torch")
    for v, spec in ((3.14159, ".2f"), (2.0, "g"), (1e-8, ".3e"), (-0.5, "+.1f")):
        assert format(gradcore.tensor(v), spec) == format(torch.tensor(v), spec)
    assert format(gradcore.tensor(7), "04d") == format(torch.tensor(7), "04d")


def test_shape_is_size_tuple():
    t = gradcore.ones(2, 3)
    s = t.shape
    assert isinstance(s, tuple) and isinstance(s, gradcore.Size)
    assert s == (2, 3) and s == gradcore.Size([2, 3])
    assert repr(s) == "gradcore.Size([2, 3])"
    assert str(s) == "gradcore.Size([2, 3])"
    assert repr(gradcore.tensor(1.0).shape) == "gradcore.Size([])"
    assert repr(gradcore.ones(5).shape) == "gradcore.Size([5])"
    assert s.numel() == 6
    assert t.size() == s and t.size(0) == 2 and t.size(-1) == 3
    assert type(t.size(1)) is int
    assert len(s) == 2 and s[0] == 2 and list(s) == [2, 3]
    a, b = s
    assert (a, b) == (2, 3)


def test_size_slicing_keeps_size_type():
    # torch.Size()[1:] is a torch.Size
    s = gradcore.ones(2, 3, 4).shape
    assert s[1:] == (3, 4)
    assert isinstance(s[1:], gradcore.Size)


def test_size_repr_matches_torch():
    torch = pytest.importorskip("torch")
    for shape in ((), (5,), (2, 3), (0, 1, 4)):
        assert repr(gradcore.zeros(shape).shape) == repr(torch.zeros(shape).shape).replace("torch.", "gradcore.")


def test_dim_numel():
    t = gradcore.ones(2, 3, 4)
    assert t.dim() == 3 and t.ndim == 3
    assert t.numel() == 24
    assert gradcore.tensor(1.0).dim() == 0 and gradcore.tensor(1.0).numel() == 1
    assert gradcore.zeros(0, 3).numel() == 0
    assert gradcore.numel(t) == 24


def test_dtype_objects():
    assert repr(gradcore.float32) == "gradcore.float32"
    assert repr(gradcore.float64) == "gradcore.float64"
    assert repr(gradcore.int64) == "gradcore.int64"
    assert repr(gradcore.bool) == "gradcore.bool"
    assert gradcore.float is gradcore.float32
    assert gradcore.double is gradcore.float64
    assert gradcore.long is gradcore.int64
    assert isinstance(gradcore.float32, gradcore.dtype)
    assert gradcore.ones(1).dtype is gradcore.float32
    assert gradcore.tensor([1]).dtype is gradcore.int64
    assert gradcore.tensor([True]).dtype is gradcore.bool
    assert gradcore.tensor([1.0], dtype=gradcore.double).dtype is gradcore.float64
    assert gradcore.float32.is_floating_point and not gradcore.int64.is_floating_point
    assert gradcore.float64.itemsize == 8 and gradcore.bool.itemsize == 1
    assert repr(gradcore.ones(2, dtype=gradcore.float64)) == "tensor([1., 1.], dtype=gradcore.float64)"


def test_dtype_reprs_match_torch():
    torch = pytest.importorskip("torch")
    for name in ("float32", "float64", "int64", "bool", "float", "double", "long"):
        assert repr(getattr(gradcore, name)) == repr(getattr(torch, name)).replace("torch.", "gradcore.")
