// The small enums that select a kernel's variant, shared by every backend's kernels.
#pragma once

namespace tinymim::backends {

enum class binop { add, sub, mul };            // element-wise arithmetic with trailing broadcasts
enum class pointwise_loss { mse, smooth_l1 };  // mean of a point-wise loss of a - b

}  // namespace tinymim::backends
