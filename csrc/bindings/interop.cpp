// Zero-copy interop: numpy (numpy(), from_numpy, the buffer protocol) and DLPack both ways.
#include <pybind11/numpy.h>

#include "bindings/common.h"
#include "bindings/dlpack.h"

namespace gradcore::python {

namespace {

const char* buffer_format(DType t) {
  switch (t) {
    case DType::Bool: return "?";
    case DType::Int64: return "q";
    case DType::Float32: return "f";
    case DType::Float64: return "d";
  }
  return "";
}

std::vector<py::ssize_t> byte_strides(const Tensor& t) {
  std::vector<py::ssize_t> s;
  for (int64_t st : t.strides()) s.push_back(static_cast<py::ssize_t>(st * itemsize(t.dtype())));
  return s;
}

// Keeps a Python object alive from C++ storage; the GIL is taken to release it, since the last
// reference to a storage may drop in any thread.
std::shared_ptr<void> hold_python(py::object obj) {
  return std::shared_ptr<void>(new py::object(std::move(obj)), [](void* p) {
    py::gil_scoped_acquire gil;
    delete static_cast<py::object*>(p);
  });
}

// Bytes spanned by a strided view starting at its first element (0 when empty).
size_t span_bytes(const Shape& shape, const Shape& strides, DType t) {
  int64_t last = 0;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0) return 0;
    last += (shape[i] - 1) * strides[i];
  }
  return static_cast<size_t>(last + 1) * itemsize(t);
}

Tensor from_numpy(py::array arr) {
  DType t;
  switch (arr.dtype().num()) {
    case py::detail::npy_api::NPY_FLOAT_: t = DType::Float32; break;
    case py::detail::npy_api::NPY_DOUBLE_: t = DType::Float64; break;
    case py::detail::npy_api::NPY_BOOL_: t = DType::Bool; break;
    default:
      if (arr.dtype().kind() == 'i' && arr.dtype().itemsize() == 8) {
        t = DType::Int64;
        break;
      }
      throw py::type_error(detail::cat("can't convert np.ndarray of type ", py::str(arr.dtype()).cast<std::string>(),
                                       ". The only supported types are: float64, float32, int64, and bool."));
  }
  GC_CHECK_T(ValueError, arr.dtype().attr("isnative").cast<bool>(), "given numpy array has byte order different from "
             "the native byte order. Conversion between byte orders is currently not supported.");
  Shape shape, strides;
  for (py::ssize_t i = 0; i < arr.ndim(); ++i) {
    shape.push_back(arr.shape(i));
    GC_CHECK_T(ValueError, arr.strides(i) >= 0, "At least one stride in the given numpy array is negative, and "
               "tensors with negative strides are not currently supported. (You can probably work around this by "
               "making a copy of your array  with array.copy().) ");
    GC_CHECK_T(ValueError, arr.strides(i) % static_cast<py::ssize_t>(itemsize(t)) == 0,
               "given numpy array strides not a multiple of the element byte size. Copy the numpy array to reallocate "
               "the memory.");
    strides.push_back(arr.strides(i) / static_cast<py::ssize_t>(itemsize(t)));
  }
  void* data = const_cast<void*>(arr.data());
  auto storage = Storage::borrow(data, span_bytes(shape, strides, t), hold_python(arr));
  return Tensor(std::make_shared<TensorImpl>(std::move(storage), t, shape, strides, 0));
}

py::array to_numpy(py::handle self) {
  Tensor t = self.cast<Tensor>();
  GC_CHECK(!t.requires_grad(), "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.");
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  py::dtype dt(std::string(buffer_format(t.dtype())));
  return py::array(dt, shape, byte_strides(t), t.raw_data(), self);  // `self` keeps the memory alive
}

// ---- DLPack ----------------------------------------------------------------------------------------
DLDataType dl_dtype(DType t) {
  switch (t) {
    case DType::Bool: return {dlpack::kDLBool, 8, 1};
    case DType::Int64: return {dlpack::kDLInt, 64, 1};
    case DType::Float32: return {dlpack::kDLFloat, 32, 1};
    case DType::Float64: return {dlpack::kDLFloat, 64, 1};
  }
  return {};
}

// What a capsule's consumer frees through the deleter: the tensor (keeping the storage alive) and
// the shape/stride arrays DLTensor points into.
struct DLContext {
  Tensor tensor;
  Shape shape, strides;
};

template <typename Managed>
void fill_dl_tensor(Managed* m, DLContext* ctx) {
  const Tensor& t = ctx->tensor;
  DLTensor& d = m->dl_tensor;
  d.data = t.storage()->data();
  d.byte_offset = static_cast<uint64_t>(t.storage_offset()) * itemsize(t.dtype());
  d.device = {dlpack::kDLCPU, 0};
  d.ndim = static_cast<int32_t>(t.dim());
  d.dtype = dl_dtype(t.dtype());
  d.shape = ctx->shape.data();
  d.strides = ctx->strides.data();
  m->manager_ctx = ctx;
}

py::capsule to_dlpack(const Tensor& t, bool versioned) {
  GC_CHECK(!t.requires_grad(), "Can't export tensors that require gradient, use tensor.detach()");
  auto* ctx = new DLContext{t, t.shape(), t.strides()};
  if (versioned) {
    auto* m = new DLManagedTensorVersioned{};
    m->version = {1, 0};
    m->deleter = [](DLManagedTensorVersioned* self) {
      delete static_cast<DLContext*>(self->manager_ctx);
      delete self;
    };
    fill_dl_tensor(m, ctx);
    return py::capsule(m, "dltensor_versioned", [](PyObject* cap) {
      // Consumers rename the capsule when they take ownership; only an unconsumed one is ours to free.
      if (PyCapsule_IsValid(cap, "dltensor_versioned")) {
        auto* mt = static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(cap, "dltensor_versioned"));
        mt->deleter(mt);
      }
    });
  }
  auto* m = new DLManagedTensor{};
  m->deleter = [](DLManagedTensor* self) {
    delete static_cast<DLContext*>(self->manager_ctx);
    delete self;
  };
  fill_dl_tensor(m, ctx);
  return py::capsule(m, "dltensor", [](PyObject* cap) {
    if (PyCapsule_IsValid(cap, "dltensor")) {
      auto* mt = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap, "dltensor"));
      mt->deleter(mt);
    }
  });
}

DType from_dl_dtype(DLDataType d) {
  GC_CHECK_T(TypeError, d.lanes == 1, "[from_dlpack] vector dtypes (lanes > 1) are not supported");
  if (d.code == dlpack::kDLFloat && d.bits == 32) return DType::Float32;
  if (d.code == dlpack::kDLFloat && d.bits == 64) return DType::Float64;
  if (d.code == dlpack::kDLInt && d.bits == 64) return DType::Int64;
  if (d.code == dlpack::kDLBool && d.bits == 8) return DType::Bool;
  throw TypeError(detail::cat("[from_dlpack] unsupported DLPack dtype (code ", int(d.code), ", bits ", int(d.bits),
                              "); gradcore supports float32, float64, int64 and bool"));
}

// Wraps a consumed capsule's DLTensor; `release` calls the producer's deleter when the storage dies.
Tensor wrap_dl_tensor(const DLTensor& d, std::shared_ptr<void> release) {
  GC_CHECK_T(ValueError, d.device.device_type == dlpack::kDLCPU, "[from_dlpack] only CPU tensors can be imported (got device type ",
             d.device.device_type, ")");
  DType t = from_dl_dtype(d.dtype);
  Shape shape(d.shape, d.shape + d.ndim);
  Shape strides = d.strides ? Shape(d.strides, d.strides + d.ndim) : contiguous_strides(shape);
  for (int64_t s : strides)
    GC_CHECK_T(ValueError, s >= 0, "[from_dlpack] negative strides are not supported");
  char* base = static_cast<char*>(d.data) + d.byte_offset;
  auto storage = Storage::borrow(base, span_bytes(shape, strides, t), std::move(release));
  return Tensor(std::make_shared<TensorImpl>(std::move(storage), t, shape, strides, 0));
}

Tensor from_dlpack(py::object obj) {
  py::object cap;
  if (py::hasattr(obj, "__dlpack__")) {
    try {
      cap = obj.attr("__dlpack__")(py::arg("max_version") = py::make_tuple(1, 0));
    } catch (py::error_already_set& e) {
      if (!e.matches(PyExc_TypeError)) throw;
      cap = obj.attr("__dlpack__")();  // a producer that predates versioned capsules
    }
  } else {
    cap = obj;  // a bare capsule
  }
  PyObject* c = cap.ptr();
  if (PyCapsule_IsValid(c, "dltensor_versioned")) {
    auto* m = static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(c, "dltensor_versioned"));
    GC_CHECK(m->version.major == 1, "[from_dlpack] unsupported DLPack major version ", m->version.major);
    PyCapsule_SetName(c, "used_dltensor_versioned");
    std::shared_ptr<void> release(m, [](void* p) {
      auto* mt = static_cast<DLManagedTensorVersioned*>(p);
      if (mt->deleter) mt->deleter(mt);
    });
    return wrap_dl_tensor(m->dl_tensor, std::move(release));
  }
  GC_CHECK_T(TypeError, PyCapsule_IsValid(c, "dltensor"),
             "[from_dlpack] expected an object with __dlpack__ or an unconsumed DLPack capsule");
  auto* m = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(c, "dltensor"));
  PyCapsule_SetName(c, "used_dltensor");
  std::shared_ptr<void> release(m, [](void* p) {
    auto* mt = static_cast<DLManagedTensor*>(p);
    if (mt->deleter) mt->deleter(mt);
  });
  return wrap_dl_tensor(m->dl_tensor, std::move(release));
}

}  // namespace

void bind_interop(py::module_& m) {
  m.def("from_numpy", &from_numpy, py::arg("ndarray"));
  m.def("from_dlpack", &from_dlpack, py::arg("ext_tensor"));

  auto cls = py::reinterpret_borrow<py::class_<TensorImpl, std::shared_ptr<TensorImpl>>>(m.attr("Tensor"));
  cls.def("numpy", [](py::handle self, bool force) {
    if (force) return to_numpy(py::cast(self.cast<Tensor>().detach()));
    return to_numpy(self);
  }, py::kw_only(), py::arg("force") = false);
  cls.def("__dlpack__", [](const Tensor& t, py::object stream, py::object max_version, py::object dl_device,
                           py::object copy) {
    GC_CHECK_T(ValueError, stream.is_none() || (PyLong_Check(stream.ptr()) && stream.cast<int64_t>() == -1) ,
               "[__dlpack__] stream must be None on CPU");
    (void)dl_device;
    GC_CHECK_T(ValueError, copy.is_none() || !copy.cast<bool>(), "[__dlpack__] copy=True is not supported; use clone()");
    bool versioned = !max_version.is_none() && max_version.cast<py::tuple>()[0].cast<int>() >= 1;
    return to_dlpack(t, versioned);
  }, py::kw_only(), py::arg("stream") = py::none(), py::arg("max_version") = py::none(),
     py::arg("dl_device") = py::none(), py::arg("copy") = py::none());
  cls.def("__dlpack_device__", [](const Tensor&) { return py::make_tuple(dlpack::kDLCPU, 0); });
  cls.def_buffer([](TensorImpl& impl) {
    GC_CHECK(!(impl.requires_grad || impl.grad_fn), "Can't call numpy() on Tensor that requires grad. Use "
             "tensor.detach().numpy() instead.");
    const auto item = static_cast<py::ssize_t>(itemsize(impl.dtype));
    std::vector<py::ssize_t> strides;
    for (int64_t s : impl.strides) strides.push_back(static_cast<py::ssize_t>(s) * item);
    char* base = static_cast<char*>(impl.storage->data());
    return py::buffer_info(base ? base + impl.offset * item : nullptr, item, buffer_format(impl.dtype),
                           static_cast<py::ssize_t>(impl.sizes.size()),
                           std::vector<py::ssize_t>(impl.sizes.begin(), impl.sizes.end()), strides);
  });
}

}  // namespace gradcore::python
