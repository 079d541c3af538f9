/// \file
/// The whole of minigrad in one include: `#include <minigrad/minigrad.h>`.
///
/// The layers point one way, tensor ← autograd ← nn, and this header includes them
/// in that order. A program that needs only one part can include that part's header
/// instead (`#include <minigrad/nn/attention.h>`), spelled the same in the
/// repository's own examples and in a project that installed minigrad.
#pragma once

#include "minigrad/tensor/allocator.h"
#include "minigrad/tensor/check.h"
#include "minigrad/tensor/gemm.h"
#include "minigrad/tensor/ops.h"
#include "minigrad/tensor/random.h"
#include "minigrad/tensor/safetensors.h"
#include "minigrad/tensor/shape.h"
#include "minigrad/tensor/tensor.h"

#include "minigrad/autograd/functions.h"
#include "minigrad/autograd/gradcheck.h"
#include "minigrad/autograd/variable.h"

#include "minigrad/nn/attention.h"
#include "minigrad/nn/container.h"
#include "minigrad/nn/decode.h"
#include "minigrad/nn/gru.h"
#include "minigrad/nn/init.h"
#include "minigrad/nn/layers.h"
#include "minigrad/nn/loss.h"
#include "minigrad/nn/lstm.h"
#include "minigrad/nn/module.h"
#include "minigrad/nn/optim.h"
#include "minigrad/nn/options.h"
#include "minigrad/nn/recurrent.h"
#include "minigrad/nn/scheduler.h"
#include "minigrad/nn/serialization.h"
#include "minigrad/nn/transformer.h"
#include "minigrad/nn/transformer_decoding.h"
