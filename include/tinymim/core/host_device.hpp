// TINYMIM_HOST_DEVICE: marks a function callable from host and device code under nvcc (nothing for a host
// compiler), for the element-wise functors that ops::map runs on every backend.
#pragma once

#if defined(__CUDACC__)
#define TINYMIM_HOST_DEVICE __host__ __device__
#else
#define TINYMIM_HOST_DEVICE
#endif
