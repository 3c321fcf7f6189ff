// Python indexing: x[...] and x[...] = v, with PyTorch's rules. Basic items (ints, slices, None,
// Ellipsis) become views; index tensors, lists and masks become one advanced-index op at the end.
#include "bindings/common.h"

namespace gradcore::python {

namespace {

// The view after the basic items, and the advanced indices by dim of that view.
struct Indexed {
  Tensor view;
  std::vector<std::optional<Tensor>> advanced;
  bool has_advanced = false;
};

bool is_int_like(py::handle h) {
  return !PyBool_Check(h.ptr()) && (PyLong_Check(h.ptr()) || (PyIndex_Check(h.ptr()) && !is_tensor(h) &&
                                                                !py::isinstance<py::sequence>(h)));
}

// Converts a list / numpy array / tensor item into an index tensor (int64 or bool).
Tensor index_tensor(py::handle item) {
  Tensor t;
  if (is_tensor(item)) {
    t = item.cast<Tensor>();
  } else {
    py::object gc = py::module_::import("gradcore");
    py::object made = gc.attr("tensor")(item);
    t = made.cast<Tensor>();
    if (t.numel() == 0 && t.dtype() != DType::Bool) t = to_dtype(t, DType::Int64);  // x[[]] selects nothing
  }
  GC_CHECK_T(IndexError, t.dtype() == DType::Int64 || t.dtype() == DType::Bool,
             "tensors used as indices must be long, int, byte or bool tensors");
  return t;
}

std::optional<int64_t> slice_bound(py::handle h) {
  if (h.is_none()) return std::nullopt;
  return py::reinterpret_steal<py::object>(PyNumber_Index(h.ptr())).cast<int64_t>();
}

// How many dims of the indexed tensor an item consumes (None, Ellipsis and bools consume none).
int64_t consumed_dims(py::handle item) {
  if (item.is_none() || item.ptr() == Py_Ellipsis || PyBool_Check(item.ptr())) return 0;
  if (is_tensor(item)) {
    Tensor t = item.cast<Tensor>();
    return t.dtype() == DType::Bool ? t.dim() : 1;
  }
  return 1;
}

Indexed apply_indices(const Tensor& self, py::handle index) {
  py::tuple items = PyTuple_Check(index.ptr()) ? py::reinterpret_borrow<py::tuple>(index) : py::make_tuple(index);
  int64_t specified = 0;
  bool seen_ellipsis = false;
  for (py::handle item : items) {
    specified += consumed_dims(item);
    if (item.ptr() == Py_Ellipsis) {
      GC_CHECK_T(IndexError, !seen_ellipsis, "an index can only have a single ellipsis ('...')");
      seen_ellipsis = true;
    }
  }
  GC_CHECK_T(IndexError, self.dim() > 0 || specified == 0, "invalid index of a 0-dim tensor. Use `tensor.item()` in "
             "Python or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a number");
  GC_CHECK_T(IndexError, specified <= self.dim(), "too many indices for tensor of dimension ", self.dim());

  Indexed r{self, {}, false};
  Tensor& v = r.view;
  int64_t dim = 0;
  auto record = [&](int64_t at, Tensor t) {
    if (static_cast<int64_t>(r.advanced.size()) <= at) r.advanced.resize(at + 1);
    r.advanced[at] = std::move(t);
    r.has_advanced = true;
  };
  for (py::handle item : items) {
    if (item.is_none()) {
      v = unsqueeze(v, dim++);
    } else if (item.ptr() == Py_Ellipsis) {
      dim += self.dim() - specified;
    } else if (PyBool_Check(item.ptr())) {
      // x[True] adds a dim of size 1; x[False] one of size 0 (an empty selection).
      v = unsqueeze(v, dim);
      if (item.ptr() == Py_False) record(dim, zeros({0}, DType::Int64));
      ++dim;
    } else if (is_int_like(item)) {
      v = select(v, dim, py::reinterpret_steal<py::object>(PyNumber_Index(item.ptr())).cast<int64_t>());
    } else if (PySlice_Check(item.ptr())) {
      auto* s = reinterpret_cast<PySliceObject*>(item.ptr());
      std::optional<int64_t> step = slice_bound(s->step);
      GC_CHECK_T(ValueError, step.value_or(1) > 0, "step must be greater than zero");
      v = slice(v, dim++, slice_bound(s->start), slice_bound(s->stop), step.value_or(1));
    } else if (PyFloat_Check(item.ptr())) {
      throw IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid "
                       "indices (got float)");
    } else if (is_tensor(item) || py::isinstance<py::sequence>(item) || py::hasattr(item, "__array__")) {
      GC_CHECK_T(TypeError, !py::isinstance<py::str>(item), "new(): invalid data type 'str'");
      Tensor t = index_tensor(item);
      if (t.dim() == 0 && t.dtype() == DType::Int64) {  // a 0-dim integer tensor indexes like an int
        v = select(v, dim, static_cast<int64_t>(t.item()));
      } else if (t.dim() == 0) {  // a 0-dim bool tensor acts like a Python bool
        v = unsqueeze(v, dim);
        if (t.item() == 0) record(dim, zeros({0}, DType::Int64));
        ++dim;
      } else {
        record(dim, t);
        dim += t.dtype() == DType::Bool ? t.dim() : 1;
      }
    } else {
      throw TypeError(detail::cat("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                                  "are valid indices (got ", Py_TYPE(item.ptr())->tp_name, ")"));
    }
  }
  return r;
}

// PyTorch drops leading size-1 dims of the value beyond the target's rank (x[0] = y[None]).
Tensor strip_leading_ones(Tensor value, int64_t target_dim) {
  while (value.dim() > target_dim && value.shape()[0] == 1) value = squeeze(value, 0);
  return value;
}

}  // namespace

void bind_indexing(py::module_& m) {
  TensorClass cls = tensor_class(m);
  cls.def("__getitem__", [](const Tensor& self, py::handle index) {
    Indexed r = apply_indices(self, index);
    return r.has_advanced ? gradcore::index(r.view, r.advanced) : r.view;
  });
  cls.def("__setitem__", [](Tensor self, py::handle index, py::handle value) {
    Indexed r = apply_indices(self, index);
    Tensor& v = r.view;
    Tensor src;
    if (is_tensor(value)) {
      src = value.cast<Tensor>();
      if (src.dtype() != v.dtype()) src = to_dtype(src, v.dtype());
    } else {
      Scalar s;
      GC_CHECK_T(TypeError, to_scalar(value, s), "can't assign a ", Py_TYPE(value.ptr())->tp_name, " to a ",
                 dtype_name(v.dtype()), " tensor");
      if (!r.has_advanced) {
        fill_(v, s);
        return;
      }
      src = scalar_tensor(s, v.dtype());
    }
    if (r.has_advanced) {
      index_put_(v, r.advanced, strip_leading_ones(src, v.dim()), false);
    } else {
      copy_(v, strip_leading_ones(src, v.dim()));
    }
  });
  cls.def("index_put_", [](Tensor self, py::handle indices, const Tensor& values, bool accumulate) {
    std::vector<std::optional<Tensor>> idx;
    for (py::handle h : indices) idx.push_back(h.is_none() ? std::nullopt : std::optional<Tensor>(index_tensor(h)));
    return index_put_(self, idx, values, accumulate);
  }, py::arg("indices"), py::arg("values"), py::arg("accumulate") = false);
  cls.def("index_put", [](const Tensor& self, py::handle indices, const Tensor& values, bool accumulate) {
    std::vector<std::optional<Tensor>> idx;
    for (py::handle h : indices) idx.push_back(h.is_none() ? std::nullopt : std::optional<Tensor>(index_tensor(h)));
    return index_put(self, idx, values, accumulate);
  }, py::arg("indices"), py::arg("values"), py::arg("accumulate") = false);
  cls.def("nonzero", [](const Tensor& self, bool as_tuple) -> py::object {
    Tensor nz = nonzero(self);
    if (!as_tuple) return py::cast(nz);
    py::tuple out(std::max<int64_t>(self.dim(), 1));
    for (int64_t d = 0; d < self.dim(); ++d) out[d] = py::cast(select(nz, 1, d));
    if (self.dim() == 0) out[0] = py::cast(select(view(nz, {-1, 1}), 1, 0));
    return out;
  }, py::kw_only(), py::arg("as_tuple") = false);
}

}  // namespace gradcore::python
