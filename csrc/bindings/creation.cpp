// Creation functions: factories with PyTorch's size/dtype/requires_grad arguments, and tensor(data).
#include "bindings/common.h"

namespace gradcore::python {

namespace {

// Applies the requires_grad= keyword shared by all factories.
Tensor finish(Tensor t, bool requires_grad) {
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

// The dtype= keyword: None means the default (float32) for floating factories.
DType floating_default(const py::object& dtype) {
  if (dtype.is_none()) return DType::Float32;
  auto t = dtype_from_object(dtype);
  GC_CHECK_T(TypeError, t.has_value(), "dtype must be a gradcore.dtype, not ", Py_TYPE(dtype.ptr())->tp_name);
  return *t;
}

// The dtype= keyword of integer factories (randint, randperm): None means int64.
DType integer_default(const py::object& dtype) { return dtype.is_none() ? DType::Int64 : floating_default(dtype); }

// ---- tensor(data): nested sequences of numbers -------------------------------------------------------
enum class Kind { Bool, Int, Float };

struct NestedData {
  Shape shape;
  Kind kind = Kind::Bool;
  std::vector<double> values;
};

bool is_sequence(py::handle h) {
  return PyList_Check(h.ptr()) || PyTuple_Check(h.ptr()) ||
         (is_tensor(h) && h.cast<Tensor>().dim() > 0);
}

// Walks the first element at every depth to learn the shape; ragged data is caught while filling.
Shape infer_shape(py::handle data) {
  Shape shape;
  py::object cur = py::reinterpret_borrow<py::object>(data);
  while (is_sequence(cur)) {
    GC_CHECK_T(ValueError, shape.size() < 64, "tensor(): too many dimensions (more than 64)");
    size_t n = py::len(cur);
    shape.push_back(static_cast<int64_t>(n));
    if (n == 0) break;
    cur = cur[py::int_(0)];
  }
  return shape;
}

void fill(py::handle data, size_t depth, NestedData& out) {
  if (depth == out.shape.size()) {
    Scalar s;
    if (is_tensor(data)) {
      Tensor t = data.cast<Tensor>();
      GC_CHECK_T(ValueError, t.numel() == 1, "only one element tensors can be converted to Python scalars");
      s = t.dtype() == DType::Bool ? Scalar(t.item() != 0) : is_floating(t.dtype()) ? Scalar(t.item()) : Scalar(static_cast<int64_t>(t.item()));
    } else if (!to_scalar(data, s)) {
      if (is_sequence(data) || PySequence_Check(data.ptr()) && !PyUnicode_Check(data.ptr()))
        throw py::value_error(detail::cat("expected a number at dim ", depth, " but found a sequence"));
      throw py::type_error(detail::cat("new(): invalid data type '", Py_TYPE(data.ptr())->tp_name, "'"));
    }
    out.kind = std::max(out.kind, s.kind == Scalar::Kind::Bool ? Kind::Bool : s.kind == Scalar::Kind::Int ? Kind::Int : Kind::Float);
    out.values.push_back(s.value);
    return;
  }
  if (!is_sequence(data))
    throw py::type_error(detail::cat("tensor(): expected a sequence of length ", out.shape[depth], " at dim ", depth,
                                     " but got '", Py_TYPE(data.ptr())->tp_name, "' (not a sequence)"));
  size_t n = py::len(data);
  if (static_cast<int64_t>(n) != out.shape[depth])
    throw py::value_error(detail::cat("expected sequence of length ", out.shape[depth], " at dim ", depth, " (got ", n, ")"));
  py::object seq = py::reinterpret_borrow<py::object>(data);
  for (size_t i = 0; i < n; ++i) fill(seq[py::int_(i)], depth + 1, out);
}

Tensor tensor_from_data(py::handle data, const py::object& dtype_arg) {
  NestedData nested;
  nested.shape = infer_shape(data);
  bool empty_dims = false;
  for (int64_t s : nested.shape) empty_dims |= s == 0;
  nested.kind = empty_dims ? Kind::Float : Kind::Bool;
  if (!empty_dims) fill(data, 0, nested);
  DType inferred = nested.kind == Kind::Bool ? DType::Bool : nested.kind == Kind::Int ? DType::Int64 : DType::Float32;
  DType t = dtype_arg.is_none() ? inferred : floating_default(dtype_arg);
  Tensor out = empty(nested.shape, t);
  GC_DISPATCH_ALL(t, [&] {
    auto* p = out.data<scalar_t>();
    for (size_t i = 0; i < nested.values.size(); ++i) p[i] = static_cast<scalar_t>(nested.values[i]);
  });
  return out;
}

}  // namespace

void bind_creation(py::module_& m) {
  m.def("_tensor_from_data", &tensor_from_data, py::arg("data"), py::arg("dtype") = py::none());

  auto filled = [&m](const char* name, double value) {
    m.def(name, [name, value](py::args size, py::object dtype, bool requires_grad, py::object) {
      return finish(full(parse_size(size, name), value, floating_default(dtype)), requires_grad);
    }, py::kw_only(), py::arg("dtype") = py::none(), py::arg("requires_grad") = false, py::arg("device") = py::none());
  };
  filled("ones", 1);
  filled("zeros", 0);
  filled("empty", 0);  // zero-filled: never expose stale memory to Python
  m.def("full", [](py::object size, py::handle value, py::object dtype, bool requires_grad, py::object) {
    Scalar s;
    GC_CHECK_T(TypeError, to_scalar(value, s), "full(): argument 'fill_value' must be a Number, not ",
               Py_TYPE(value.ptr())->tp_name);
    std::optional<DType> t = dtype.is_none() ? std::nullopt : std::optional<DType>(floating_default(dtype));
    return finish(gradcore::full(to_shape(size, "full"), s, t), requires_grad);
  }, py::arg("size"), py::arg("fill_value"), py::kw_only(), py::arg("dtype") = py::none(),
        py::arg("requires_grad") = false, py::arg("device") = py::none());
  m.def("rand", [](py::args size, py::object dtype, bool requires_grad, py::object) {
    return finish(rand(parse_size(size, "rand"), floating_default(dtype)), requires_grad);
  }, py::kw_only(), py::arg("dtype") = py::none(), py::arg("requires_grad") = false, py::arg("device") = py::none());
  m.def("randn", [](py::args size, py::object dtype, bool requires_grad, py::object) {
    return finish(randn(parse_size(size, "randn"), floating_default(dtype)), requires_grad);
  }, py::kw_only(), py::arg("dtype") = py::none(), py::arg("requires_grad") = false, py::arg("device") = py::none());
  m.def("arange", [](py::handle a, py::handle b, py::handle step, py::object dtype, bool requires_grad) {
    Scalar start, end, st;
    bool ok = to_scalar(a, start) && (b.is_none() || to_scalar(b, end)) && to_scalar(step, st);
    GC_CHECK_T(TypeError, ok, "arange(): start, end and step must be numbers");
    if (b.is_none()) {
      end = start;
      start = Scalar(0);
    }
    std::optional<DType> t = dtype.is_none() ? std::nullopt : std::optional<DType>(floating_default(dtype));
    return finish(arange(start, end, st, t), requires_grad);
  }, py::arg("start"), py::arg("end") = py::none(), py::arg("step") = 1, py::kw_only(), py::arg("dtype") = py::none(),
        py::arg("requires_grad") = false);
  // randint's (high, size) / (low, high, size) overloads are parsed in Python (gradcore.randint).
  m.def("_randint", [](int64_t low, int64_t high, py::object size, py::object dtype, bool requires_grad) {
    return finish(randint(low, high, to_shape(size, "randint"), integer_default(dtype)), requires_grad);
  }, py::arg("low"), py::arg("high"), py::arg("size"), py::arg("dtype") = py::none(), py::arg("requires_grad") = false);
  m.def("randperm", [](int64_t n, py::object dtype, bool requires_grad, py::object, py::object) {
    return finish(randperm(n, integer_default(dtype)), requires_grad);
  }, py::arg("n"), py::kw_only(), py::arg("dtype") = py::none(), py::arg("requires_grad") = false,
        py::arg("device") = py::none(), py::arg("generator") = py::none());
  m.def("manual_seed", [](int64_t seed) { manual_seed(static_cast<uint64_t>(seed)); });
}

}  // namespace gradcore::python
