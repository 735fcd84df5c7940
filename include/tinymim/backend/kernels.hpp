// The kernels the ops call, for every backend this translation unit can compile. Include this (not a
// backend's own headers) from op code: ops name kernels as backends::fn(B{}, ...), and those names
// must be declared before the ops are defined.
//
// Host compilers get the CPU kernels. nvcc gets the CUDA kernels and only the CPU kernels that do not
// need Eigen (which must never reach an nvcc TU): a .cu file instantiates the models on `cuda`; CPU
// instantiations of ops that multiply matrices, normalise or take losses belong in host TUs.
#pragma once

#include "tinymim/backend/cpu/kernels/axis.hpp"
#include "tinymim/backend/cpu/kernels/elementwise.hpp"
#include "tinymim/backend/cpu/kernels/map.hpp"
#include "tinymim/backend/cpu/kernels/strided.hpp"
#include "tinymim/backend/cpu/kernels/tokens.hpp"
#include "tinymim/backend/kinds.hpp"

#if defined(__CUDACC__)
#include "tinymim/backend/cuda/kernels.cuh"
#else
#include "tinymim/backend/cpu/blas/gemm.hpp"
#include "tinymim/backend/cpu/blas/gemm_bf16.hpp"
#include "tinymim/backend/cpu/blas/packed_weight.hpp"
#include "tinymim/backend/cpu/blas/small_gemm.hpp"
#include "tinymim/backend/cpu/fused/attention_half.hpp"
#include "tinymim/backend/cpu/fused/branch.hpp"
#include "tinymim/backend/cpu/fused/mlp.hpp"
#include "tinymim/backend/cpu/fused/plan.hpp"
#include "tinymim/backend/cpu/kernels/attention.hpp"
#include "tinymim/backend/cpu/kernels/bf16.hpp"
#include "tinymim/backend/cpu/kernels/losses.hpp"
#include "tinymim/backend/cpu/kernels/relation_kl.hpp"
#include "tinymim/backend/cpu/kernels/rows.hpp"
#endif
