// FNV-1a, the one non-cryptographic hash of the project: content hashes of modules, cache file
// names, hash-consing keys. Byte-wise over text or bytes, or word-wise where a key is a list of
// integers. Not for anything an adversary chooses (the kernel cache verifies its entries apart).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace evoc {

inline constexpr uint64_t kFnv1aOffsetBasis = 0xcbf29ce484222325ull;  ///< the standard 64-bit basis
inline constexpr uint64_t kFnv1aPrime = 0x100000001b3ull;
/// The seed of the project's content hashes (modules, data sets, networks): the standard basis
/// with its last digit lost, kept so that every hash already published (generated headers,
/// cache keys, checkpoints) stays what it was.
inline constexpr uint64_t kContentHashSeed = 1469598103934665603ull;

/// FNV-1a 64 of `bytes`, starting from `seed` (the standard offset basis by default; another
/// seed gives an independent hash of the same bytes).
constexpr uint64_t fnv1a(std::string_view bytes, uint64_t seed = kFnv1aOffsetBasis) {
  uint64_t h = seed;
  for (unsigned char c : bytes) h = (h ^ c) * kFnv1aPrime;
  return h;
}

/// FNV-1a 64 of the `n` bytes at `p`, continued from `h`: for the bytes of arrays of numbers.
inline uint64_t fnv1a_bytes(const void* p, std::size_t n, uint64_t h = kFnv1aOffsetBasis) {
  return fnv1a(std::string_view(static_cast<const char*>(p), n), h);
}

/// One FNV-1a step over a whole word: for keys that are lists of integers.
constexpr uint64_t fnv1a_mix(uint64_t h, uint64_t word) { return (h ^ word) * kFnv1aPrime; }

}  // namespace evoc
