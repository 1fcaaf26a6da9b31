// SHA-256 (FIPS 180-4), self-contained: the kernel cache checks its entries with it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace evoc {

/// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  /// Appends `data` to the message.
  Sha256& update(std::string_view data);
  /// The 32-byte digest of everything appended; the object must not be updated afterwards.
  std::array<uint8_t, 32> digest();

 private:
  void block(const uint8_t* p);
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  uint64_t length_ = 0;  ///< bytes appended
};

/// The SHA-256 of `data` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);

}  // namespace evoc
