// The backend concept: what a backend type must offer to hold tensors.
#pragma once

#include <concepts>
#include <cstddef>

namespace tinymim {

// A backend is a tag type naming where memory lives and which kernels run on it.
// Memory: allocate/deallocate bytes, copy to/from host. Kernels are found by the ops through
// backend-specific overloads (see backend/cpu/ and backend/cuda/), never by virtual dispatch.
template <class B>
concept backend = requires(std::size_t n, void* p, const void* cp) {
    { B::name } -> std::convertible_to<const char*>;
    { B::host_memory } -> std::convertible_to<bool>;  // whether the host may read a tensor's memory in place
    { B::allocate(n) } -> std::same_as<void*>;
    B::deallocate(p, n);
    B::copy_to_host(p, cp, n);
    B::copy_from_host(p, cp, n);
    B::copy(p, cp, n);
    B::move(p, cp, n);  // copy for overlapping regions
};

}  // namespace tinymim
