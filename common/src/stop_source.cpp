// stop_source.cpp — a new std::stop_source, built here rather than inline in users' code (see
// detail/cancellable_result.hpp).
#include <isolate/detail/cancellable_result.hpp>

namespace isolate::detail {

std::stop_source new_stop_source() { return std::stop_source(); }

}  // namespace isolate::detail
