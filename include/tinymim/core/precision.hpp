// Precision policies, taken by the models, MAE, the distiller and the trainers as a type parameter.
//   fp32        every product and every stored value in the model's element type (the default)
//   bf16_mixed  PyTorch autocast's convention: GEMM operands rounded to bf16 with fp32 accumulation,
//               norms, softmax, losses and reductions in fp32, parameters, gradients and AdamW state fp32
// The table of what runs in which precision is docs/design/precision.md.
#pragma once

#include <concepts>
#include <type_traits>

namespace tinymim {

struct fp32 {
    static constexpr const char* name = "fp32";
    static constexpr bool bf16_operands = false;
};

struct bf16_mixed {
    static constexpr const char* name = "bf16";
    static constexpr bool bf16_operands = true;
};

// One of the two policies above (a model's fourth template argument).
template <class P>
concept precision_policy = std::same_as<P, fp32> || std::same_as<P, bf16_mixed>;

// Whether a model of element T may take policy P: mixed precision keeps float master weights; double is
// the gradient checks' type and stays exact.
template <class P, class T>
inline constexpr bool precision_fits = std::same_as<P, fp32> || std::same_as<T, float>;

}  // namespace tinymim
