#include "minigrad/nn/gru.h"

#include <cmath>
#include <stdexcept>

#include "minigrad/nn/init.h"
#include "minigrad/tensor/fast_math.h"

namespace minigrad::nn {

namespace {

std::string shape_of(const Variable& v) {
  return v.defined() ? v.shape().str() : std::string("undefined");
}

// x [B, in], h [B, H], W_ih [3H, in], W_hh [3H, H], biases [3H] or undefined, one dtype.
void check_cell_shapes(const Variable& x, const Variable& h, const Variable& w_ih,
                       const Variable& w_hh, const Variable& b_ih, const Variable& b_hh,
                       const char* op) {
  bool ok = x.defined() && w_ih.defined() && w_hh.defined() && x.dim() == 2 && w_ih.dim() == 2 &&
            w_hh.dim() == 2;
  const int64_t three_h = ok ? w_hh.size(0) : 0, hidden = ok ? w_hh.size(1) : 0;
  ok = ok && w_ih.size(0) == three_h && three_h == 3 * hidden && x.size(1) == w_ih.size(1);
  ok = ok && h.defined() && h.shape() == Shape{x.size(0), hidden};
  // A bias is [3H] or absent; the fused kernel reads exactly 3H values from it.
  for (const Variable* b : {&b_ih, &b_hh})
    ok = ok && (!b->defined() || b->shape() == Shape{three_h});
  if (!ok) {
    throw std::invalid_argument(std::string(op) + ": x " + shape_of(x) + ", h " + shape_of(h) +
                                ", W_ih " + shape_of(w_ih) + ", W_hh " + shape_of(w_hh) +
                                ", b_ih " + shape_of(b_ih) + ", b_hh " + shape_of(b_hh) +
                                ": expected x [B,in], h [B,H], W_ih [3H,in], W_hh [3H,H], "
                                "biases [3H] or undefined");
  }
  for (const Variable* v : {&h, &w_ih, &w_hh, &b_ih, &b_hh}) {
    if (v->defined() && v->dtype() != x.dtype()) {
      throw std::invalid_argument(std::string(op) + ": x is " + dtype_name(x.dtype()) +
                                  " but the state or a weight is " + dtype_name(v->dtype()));
    }
  }
}

// [extending:gru-fused]
// The fused element-wise part of one GRU step. Inputs: gx = x·W_ihᵀ and
// gh = h·W_hhᵀ ([B, 3H] each, columns r | z | n), the biases (either may be
// undefined) and h ([B, H]). One output, h' [B, H].
//
// Forward, per element (j < H):
//   r  = σ(gx_r + b_ir + gh_r + b_hr)
//   z  = σ(gx_z + b_iz + gh_z + b_hz)
//   hn = gh_n + b_hn                       (saved: the reset gate scales it)
//   n  = tanh(gx_n + b_in + r·hn)
//   h' = (1 − z)·n + z·h
// Backward, from g = ∂L/∂h':
//   dn   = g·(1 − z)          dz = g·(h − n)          dh = g·z   (h's direct path)
//   da_n = dn·(1 − n²)        (tanh' = 1 − tanh²)
//   da_r = da_n·hn · r(1 − r) (σ' = σ(1 − σ))
//   da_z = dz · z(1 − z)
//   dgx  = [da_r, da_z, da_n]       dgh = [da_r, da_z, da_n·r]
//   db_ih = Σ_batch dgx,  db_hh = Σ_batch dgh
// (the gradients of W_ih, W_hh, x and h's second path come from the two matmuls).
Variable gru_pointwise(const Variable& gx, const Variable& gh, const Variable& b_ih,
                       const Variable& b_hh, const Variable& h) {
  const int64_t batch = h.size(0), hidden = h.size(1);
  const DType dtype = h.dtype();
  Tensor gates = Tensor::empty({batch, 4 * hidden}, dtype);  // r, z, n, hn: what backward needs
  Tensor h_next = Tensor::empty({batch, hidden}, dtype);
  const Tensor gxd = gx.data().contiguous(), ghd = gh.data().contiguous();
  const Tensor hd = h.data().contiguous();
  const Tensor bi = b_ih.defined() ? b_ih.data().contiguous() : Tensor();
  const Tensor bh = b_hh.defined() ? b_hh.data().contiguous() : Tensor();

  dispatch_floating(dtype, "gru_cell", [&](auto tag) {
    using T = decltype(tag);
    const T* px = gxd.data<T>();
    const T* ph = ghd.data<T>();
    const T* pbi = bi.defined() ? bi.data<T>() : nullptr;
    const T* pbh = bh.defined() ? bh.data<T>() : nullptr;
    const T* pprev = hd.data<T>();
    T* pg = gates.data<T>();
    T* pout = h_next.data<T>();
    // One row at a time, in loops without branches or libm calls (fast:: math), so
    // the compiler vectorises each; the bias pointers are loop-invariant.
    for (int64_t b = 0; b < batch; ++b) {
      const T* x_row = px + b * 3 * hidden;  // gx: r | z | n
      const T* h_row = ph + b * 3 * hidden;  // gh: r | z | n
      T* act = pg + b * 4 * hidden;          // r | z | n | hn
      T* r = act;
      T* z = act + hidden;
      T* n = act + 2 * hidden;
      T* hn = act + 3 * hidden;
      for (int64_t col = 0; col < 2 * hidden; ++col) {  // r and z side by side
        act[col] = fast::sigmoid(x_row[col] + (pbi ? pbi[col] : T(0)) + h_row[col] +
                                 (pbh ? pbh[col] : T(0)));
      }
      for (int64_t j = 0; j < hidden; ++j)
        hn[j] = h_row[2 * hidden + j] + (pbh ? pbh[2 * hidden + j] : T(0));
      for (int64_t j = 0; j < hidden; ++j)
        n[j] =
            fast::tanh(x_row[2 * hidden + j] + (pbi ? pbi[2 * hidden + j] : T(0)) + r[j] * hn[j]);
      const T* h_old = pprev + b * hidden;
      T* h_new = pout + b * hidden;
      for (int64_t j = 0; j < hidden; ++j) h_new[j] = (T(1) - z[j]) * n[j] + z[j] * h_old[j];
    }
  });

  return record("gru_cell", h_next, {gx, gh, b_ih, b_hh, h},
                [gates, hd, batch, hidden](const std::vector<Tensor>& gy, Grads& g) {
                  const Tensor go = gy[0].contiguous();
                  Tensor dgx = Tensor::empty({batch, 3 * hidden}, gates.dtype());
                  Tensor dgh = Tensor::empty({batch, 3 * hidden}, gates.dtype());
                  Tensor dh = Tensor::empty({batch, hidden}, gates.dtype());
                  dispatch_floating(gates.dtype(), "gru_cell backward", [&](auto tag) {
                    using T = decltype(tag);
                    const T* pg = gates.data<T>();
                    const T* pprev = hd.data<T>();
                    const T* pgo = go.data<T>();
                    T* px = dgx.data<T>();
                    T* ph = dgh.data<T>();
                    T* pdh = dh.data<T>();
                    for (int64_t b = 0; b < batch; ++b) {
                      const int64_t row = b * 3 * hidden, in = b * 4 * hidden;
                      for (int64_t j = 0; j < hidden; ++j) {
                        const int64_t e = b * hidden + j;
                        const T r = pg[in + j], z = pg[in + hidden + j],
                                n = pg[in + 2 * hidden + j], hn = pg[in + 3 * hidden + j];
                        const T da_n = pgo[e] * (T(1) - z) * (T(1) - n * n);
                        const T da_r = da_n * hn * r * (T(1) - r);
                        const T da_z = pgo[e] * (pprev[e] - n) * z * (T(1) - z);
                        px[row + j] = ph[row + j] = da_r;
                        px[row + hidden + j] = ph[row + hidden + j] = da_z;
                        px[row + 2 * hidden + j] = da_n;
                        ph[row + 2 * hidden + j] = da_n * r;
                        pdh[e] = pgo[e] * z;
                      }
                    }
                  });
                  if (g.needs(0)) g[0] = dgx;
                  if (g.needs(1)) g[1] = dgh;
                  if (g.needs(2)) g[2] = sum(dgx, {0});
                  if (g.needs(3)) g[3] = sum(dgh, {0});
                  if (g.needs(4)) g[4] = dh;
                });
}
// [/extending:gru-fused]

}  // namespace

// [extending:gru-composed]
// The readable reference: one line per equation of gru.h.
Variable gru_cell_composed(const Variable& x, const Variable& h, const Variable& w_ih,
                           const Variable& w_hh, const Variable& b_ih, const Variable& b_hh) {
  check_cell_shapes(x, h, w_ih, w_hh, b_ih, b_hh, "gru_cell_composed");
  Variable gx = matmul(x, w_ih, false, true);  // [B, 3H]: W_i{r,z,n} x
  Variable gh = matmul(h, w_hh, false, true);  // [B, 3H]: W_h{r,z,n} h
  if (b_ih.defined()) gx = gx + b_ih;
  if (b_hh.defined()) gh = gh + b_hh;
  const int64_t hidden = w_hh.size(1);
  const std::vector<Variable> i = split(gx, hidden, 1), s = split(gh, hidden, 1);
  const Variable r = sigmoid(i[0] + s[0]);   // reset gate
  const Variable z = sigmoid(i[1] + s[1]);   // update gate
  const Variable n = tanh(i[2] + r * s[2]);  // candidate: r scales W_hn h + b_hn
  return (1.0 - z) * n + z * h;              // h' = (1 − z) ⊙ n + z ⊙ h
}
// [/extending:gru-composed]

Variable gru_cell_fused(const Variable& x, const Variable& h, const Variable& w_ih,
                        const Variable& w_hh, const Variable& b_ih, const Variable& b_hh) {
  check_cell_shapes(x, h, w_ih, w_hh, b_ih, b_hh, "gru_cell_fused");
  return gru_pointwise(matmul(x, w_ih, false, true), matmul(h, w_hh, false, true), b_ih, b_hh, h);
}

// ---- GRUCell --------------------------------------------------------------------------------

// [extending:gru-cell-module]
GRUCell::GRUCell(int64_t in, int64_t hidden, bool bias, DType dtype, Generator& gen)
    : input_size(in), hidden_size(hidden) {
  if (in <= 0 || hidden <= 0) {
    throw std::invalid_argument("GRUCell: input_size and hidden_size must be positive, got " +
                                std::to_string(in) + " and " + std::to_string(hidden));
  }
  register_parameter("weight_ih", &weight_ih,
                     init::recurrent_uniform({3 * hidden, in}, hidden, dtype, gen));
  register_parameter("weight_hh", &weight_hh,
                     init::recurrent_uniform({3 * hidden, hidden}, hidden, dtype, gen));
  if (bias) {
    register_parameter("bias_ih", &bias_ih,
                       init::recurrent_uniform({3 * hidden}, hidden, dtype, gen));
    register_parameter("bias_hh", &bias_hh,
                       init::recurrent_uniform({3 * hidden}, hidden, dtype, gen));
  }
}

Variable GRUCell::forward(const Variable& x, const Variable& h) {
  if (x.dim() != 2 || x.size(1) != input_size) {
    throw std::invalid_argument("GRUCell: input of shape " + x.shape().str() +
                                ", expected [batch, " + std::to_string(input_size) + "]");
  }
  const Variable state =
      h.defined() ? h : Variable(Tensor::zeros({x.size(0), hidden_size}, x.dtype()));
  return fused ? gru_cell_fused(x, state, weight_ih, weight_hh, bias_ih, bias_hh)
               : gru_cell_composed(x, state, weight_ih, weight_hh, bias_ih, bias_hh);
}
// [/extending:gru-cell-module]

std::string GRUCell::extra_repr() const {
  return std::to_string(input_size) + ", " + std::to_string(hidden_size) +
         (bias_ih.defined() ? "" : ", bias=false");
}

// ---- GRU ------------------------------------------------------------------------------------

GRU::GRU(int64_t in, int64_t hidden, int64_t layers, bool batch_first_, bool bias, DType dtype,
         Generator& gen)
    : input_size(in), hidden_size(hidden), num_layers(layers), batch_first(batch_first_) {
  if (in <= 0 || hidden <= 0 || layers <= 0) {
    throw std::invalid_argument(
        "GRU: input_size, hidden_size and num_layers must be positive, got " + std::to_string(in) +
        ", " + std::to_string(hidden) + ", " + std::to_string(layers));
  }
  const auto n = static_cast<size_t>(layers);
  // Sized up front: the registry holds pointers to these elements.
  weight_ih.resize(n);
  weight_hh.resize(n);
  bias_ih.resize(n);
  bias_hh.resize(n);
  for (size_t l = 0; l < n; ++l) {
    const std::string s = "_l" + std::to_string(l);
    const int64_t layer_in = l == 0 ? in : hidden;
    register_parameter("weight_ih" + s, &weight_ih[l],
                       init::recurrent_uniform({3 * hidden, layer_in}, hidden, dtype, gen));
    register_parameter("weight_hh" + s, &weight_hh[l],
                       init::recurrent_uniform({3 * hidden, hidden}, hidden, dtype, gen));
    if (bias) {
      register_parameter("bias_ih" + s, &bias_ih[l],
                         init::recurrent_uniform({3 * hidden}, hidden, dtype, gen));
      register_parameter("bias_hh" + s, &bias_hh[l],
                         init::recurrent_uniform({3 * hidden}, hidden, dtype, gen));
    }
  }
}

GRUOutput GRU::forward(const Variable& x_in, const Variable& h0) {
  if (x_in.dim() != 3 || x_in.size(2) != input_size) {
    throw std::invalid_argument("GRU: input of shape " + x_in.shape().str() + ", expected " +
                                (batch_first ? "[batch, time, " : "[time, batch, ") +
                                std::to_string(input_size) + "]");
  }
  const Variable x = batch_first ? x_in.transpose(0, 1) : x_in;  // [T, B, in]
  const int64_t steps = x.size(0), batch = x.size(1);
  const Shape state_shape{num_layers, batch, hidden_size};
  if (h0.defined() && h0.shape() != state_shape) {
    throw std::invalid_argument("GRU: initial state of shape " + h0.shape().str() +
                                ", expected [num_layers, batch, hidden] = " + state_shape.str() +
                                " (layer-first even when batch_first)");
  }
  if (steps == 0) throw std::invalid_argument("GRU: the input sequence is empty");

  Variable layer_input = x;
  std::vector<Variable> h_n;
  for (int64_t l = 0; l < num_layers; ++l) {
    const auto li = static_cast<size_t>(l);
    Variable h =
        h0.defined() ? h0.select(0, l) : Variable(Tensor::zeros({batch, hidden_size}, x.dtype()));
    std::vector<Variable> outputs;
    outputs.reserve(static_cast<size_t>(steps));
    if (fused) {
      // x·W_ihᵀ for all steps in one GEMM; only h·W_hhᵀ must wait for the previous step.
      const int64_t in_l = layer_input.size(2);
      const Variable gx_all =
          matmul(layer_input.reshape({steps * batch, in_l}), weight_ih[li], false, true)
              .reshape({steps, batch, 3 * hidden_size});
      const std::vector<Variable> gx = unbind(gx_all, 0);
      for (int64_t t = 0; t < steps; ++t) {
        h = gru_pointwise(gx[static_cast<size_t>(t)], matmul(h, weight_hh[li], false, true),
                          bias_ih[li], bias_hh[li], h);
        outputs.push_back(h);
      }
    } else {
      const std::vector<Variable> xs = unbind(layer_input, 0);
      for (int64_t t = 0; t < steps; ++t) {
        h = gru_cell_composed(xs[static_cast<size_t>(t)], h, weight_ih[li], weight_hh[li],
                              bias_ih[li], bias_hh[li]);
        outputs.push_back(h);
      }
    }
    layer_input = stack(outputs, 0);  // [T, B, H]
    h_n.push_back(h);
  }
  return {batch_first ? layer_input.transpose(0, 1) : layer_input, stack(h_n, 0)};
}

std::string GRU::extra_repr() const {
  std::string s = std::to_string(input_size) + ", " + std::to_string(hidden_size);
  if (num_layers != 1) s += ", num_layers=" + std::to_string(num_layers);
  if (batch_first) s += ", batch_first=true";
  if (!bias_ih[0].defined()) s += ", bias=false";
  return s;
}

}  // namespace minigrad::nn
