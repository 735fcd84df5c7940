// Every kernel of the CUDA backend (the counterpart of the CPU kernel headers).
#pragma once

#include "tinymim/backend/cuda/activation.cuh"
#include "tinymim/backend/cuda/attention.cuh"
#include "tinymim/backend/cuda/axis.cuh"
#include "tinymim/backend/cuda/bf16.cuh"
#include "tinymim/backend/cuda/cuda.cuh"
#include "tinymim/backend/cuda/elementwise.cuh"
#include "tinymim/backend/cuda/gemm.cuh"
#include "tinymim/backend/cuda/losses.cuh"
#include "tinymim/backend/cuda/map.cuh"
#include "tinymim/backend/cuda/strided.cuh"
#include "tinymim/backend/cuda/tokens.cuh"
