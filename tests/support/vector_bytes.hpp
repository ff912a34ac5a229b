// vector_bytes.hpp — plain memory a ByteWriter can append to (tests and fuzz targets of the
// protocol and the codec).
#pragma once

#include <isolate/detail/byte_writer.hpp>

#include <cstddef>
#include <vector>

namespace isolate::test {

class VectorBytes final : public detail::WritableBytes {
 public:
  std::byte* bytes() noexcept override { return data_.data(); }
  [[nodiscard]] std::size_t length() const noexcept override { return data_.size(); }
  void grow_to(std::size_t size) override {
    if (size > data_.size()) data_.resize(size);
  }

 private:
  std::vector<std::byte> data_;
};

}  // namespace isolate::test
