// Row <-> lane transposition (see row_tile.h).
//
// Join the W row pieces of a chunk of V columns, W/V at a time, into V vectors of W lanes:
// element (vector, lane) has the index bits (k | row_low | column), where row = k * W/V +
// row_low. An "unzip" round (even lanes of two neighbours, then their odd lanes) rotates those
// bits right by one; b = log2 V rounds leave (column | row): one vector per column, one lane per
// row. Stores run the inverse: b "zip" rounds (interleave the low or high halves of two vectors)
// rotate (column | row) left by b, and each W-lane vector splits into W/V row pieces.
#include "codegen/row_tile.h"

#include <bit>

namespace evoc::codegen {
namespace {

using llvm::Value;

/// The chunks of `n_columns` columns for `lanes` lanes: single columns when `lanes` is not a
/// power of two (the shuffle rounds need one).
std::vector<RowChunk> chunks(unsigned n_columns, unsigned lanes) {
  std::vector<RowChunk> out;
  const unsigned most = std::has_single_bit(lanes) ? lanes : 1;
  for (unsigned first = 0; first < n_columns;) {
    const unsigned live = std::min(most, n_columns - first);
    out.push_back({first, live, std::bit_ceil(live)});
    first += live;
  }
  return out;
}

unsigned lanes_of(Value* v) { return llvm::cast<llvm::FixedVectorType>(v->getType())->getNumElements(); }

/// Lanes [h*L/2, h*L/2 + L/2) of `a` and `c`, interleaved: a_k c_k a_k+1 c_k+1 ...
Value* zip(llvm::IRBuilder<>& b, Value* a, Value* c, unsigned h) {
  const int lanes = static_cast<int>(lanes_of(a)), base = static_cast<int>(h) * lanes / 2;
  std::vector<int> mask;
  for (int k = 0; k < lanes / 2; ++k) mask.insert(mask.end(), {base + k, lanes + base + k});
  return b.CreateShuffleVector(a, c, mask);
}

/// The lanes of parity `s` of `a`, then those of `c`.
Value* unzip(llvm::IRBuilder<>& b, Value* a, Value* c, unsigned s) {
  const int lanes = static_cast<int>(lanes_of(a));
  std::vector<int> mask;
  for (int from : {0, lanes})
    for (int k = 0; k < lanes / 2; ++k) mask.push_back(from + 2 * k + static_cast<int>(s));
  return b.CreateShuffleVector(a, c, mask);
}

/// One zip round over `v`: out[2i + h] = zip(v[i], v[i + N/2], h).
std::vector<Value*> zip_round(llvm::IRBuilder<>& b, const std::vector<Value*>& v) {
  const std::size_t half = v.size() / 2;
  std::vector<Value*> out(v.size());
  for (std::size_t i = 0; i < half; ++i)
    for (unsigned h = 0; h < 2; ++h) out[2 * i + h] = zip(b, v[i], v[i + half], h);
  return out;
}

/// One unzip round over `v`: out[s*N/2 + i] = unzip(v[2i], v[2i + 1], s).
std::vector<Value*> unzip_round(llvm::IRBuilder<>& b, const std::vector<Value*>& v) {
  const std::size_t half = v.size() / 2;
  std::vector<Value*> out(v.size());
  for (std::size_t i = 0; i < half; ++i)
    for (unsigned s = 0; s < 2; ++s) out[s * half + i] = unzip(b, v[2 * i], v[2 * i + 1], s);
  return out;
}

/// `pieces` (equal widths, a power of two in number) joined end to end into one vector.
Value* join(llvm::IRBuilder<>& b, std::vector<Value*> pieces) {
  while (pieces.size() > 1) {
    std::vector<Value*> joined;
    for (std::size_t i = 0; i < pieces.size(); i += 2) {
      std::vector<int> mask(2 * lanes_of(pieces[i]));
      for (std::size_t k = 0; k < mask.size(); ++k) mask[k] = static_cast<int>(k);
      joined.push_back(b.CreateShuffleVector(pieces[i], pieces[i + 1], mask));
    }
    pieces = std::move(joined);
  }
  return pieces[0];
}

/// Lanes [first, first + count) of `v`.
Value* slice(llvm::IRBuilder<>& b, Value* v, unsigned first, unsigned count) {
  std::vector<int> mask(count);
  for (unsigned k = 0; k < count; ++k) mask[k] = static_cast<int>(first + k);
  return b.CreateShuffleVector(v, mask);
}

/// The constant <width x i1> mask that enables the first `live` lanes.
llvm::Constant* lane_mask(llvm::IRBuilder<>& b, unsigned live, unsigned width) {
  std::vector<llvm::Constant*> bits(width);
  for (unsigned k = 0; k < width; ++k) bits[k] = b.getInt1(k < live);
  return llvm::ConstantVector::get(bits);
}

/// Part of a permutation being built: vector `v` holds output lane j at lane `lane[j]` (-1: not
/// yet).
struct Part {
  Value* v;
  std::vector<int> lane;
};

/// One vector whose lane j is lane `from[j].second` of source `from[j].first`, built as a
/// balanced tree of two-source shuffles over the sources it reads.
Value* permute(llvm::IRBuilder<>& b, const std::vector<Value*>& sources, const std::vector<std::pair<unsigned, int>>& from) {
  const unsigned width = static_cast<unsigned>(from.size());
  std::vector<Part> parts;
  for (unsigned s = 0; s < sources.size(); ++s) {
    Part part{sources[s], std::vector<int>(width, -1)};
    bool used = false;
    for (unsigned j = 0; j < width; ++j)
      if (from[j].first == s) part.lane[j] = from[j].second, used = true;
    if (used) parts.push_back(std::move(part));
  }
  while (parts.size() > 1) {
    std::vector<Part> next;
    for (std::size_t i = 0; i + 1 < parts.size(); i += 2) {
      const Part &x = parts[i], &y = parts[i + 1];
      Part joined{nullptr, std::vector<int>(width, -1)};
      std::vector<int> mask(width, -1);
      for (unsigned j = 0; j < width; ++j) {
        if (x.lane[j] >= 0) mask[j] = x.lane[j];
        else if (y.lane[j] >= 0) mask[j] = static_cast<int>(width) + y.lane[j];
        if (mask[j] >= 0) joined.lane[j] = static_cast<int>(j);
      }
      joined.v = b.CreateShuffleVector(x.v, y.v, mask);
      next.push_back(std::move(joined));
    }
    if (parts.size() % 2) next.push_back(std::move(parts.back()));
    parts = std::move(next);
  }
  // A joined part has every lane in place; a single source may still need a shuffle.
  bool in_place = true;
  for (unsigned j = 0; j < width; ++j) in_place = in_place && parts[0].lane[j] == static_cast<int>(j);
  return in_place ? parts[0].v : b.CreateShuffleVector(parts[0].v, parts[0].lane);
}

}  // namespace

bool has_block_path(unsigned n_columns, unsigned width) {
  if (n_columns == 0 || n_columns > width || width < 2) return false;
  if (std::has_single_bit(n_columns) && std::has_single_bit(width)) return true;
  return width == 16 && n_columns <= 6;
}

std::vector<Value*> load_block_columns(llvm::IRBuilder<>& b, Value* base, unsigned n_columns, unsigned width,
                                       const std::vector<bool>& wanted) {
  auto* type = llvm::FixedVectorType::get(b.getFloatTy(), width);
  std::vector<Value*> vectors;
  for (unsigned i = 0; i < n_columns; ++i)
    vectors.push_back(b.CreateAlignedLoad(type, b.CreateConstInBoundsGEP1_64(b.getFloatTy(), base, i * width), llvm::Align(4)));
  std::vector<Value*> columns(n_columns, nullptr);
  if (std::has_single_bit(n_columns)) {
    // The vectors are the row path's joined pieces of one chunk of n_columns columns.
    for (unsigned round = 1; round < n_columns; round *= 2) vectors = unzip_round(b, vectors);
    for (unsigned c = 0; c < n_columns; ++c)
      if (wanted[c]) columns[c] = vectors[c];
    return columns;
  }
  for (unsigned c = 0; c < n_columns; ++c) {
    if (!wanted[c]) continue;
    std::vector<std::pair<unsigned, int>> from(width);  // row j's column c is float j*k + c
    for (unsigned j = 0; j < width; ++j) {
      const unsigned f = j * n_columns + c;
      from[j] = {f / width, static_cast<int>(f % width)};
    }
    columns[c] = permute(b, vectors, from);
  }
  return columns;
}

void store_block_rows(llvm::IRBuilder<>& b, Value* base, const std::vector<Value*>& columns) {
  const unsigned n_columns = static_cast<unsigned>(columns.size()), width = lanes_of(columns[0]);
  std::vector<Value*> vectors = columns;
  if (std::has_single_bit(n_columns)) {
    for (unsigned round = 1; round < n_columns; round *= 2) vectors = zip_round(b, vectors);
  } else {
    for (unsigned i = 0; i < n_columns; ++i) {
      std::vector<std::pair<unsigned, int>> from(width);  // float i*W + l is row f/k, column f%k
      for (unsigned l = 0; l < width; ++l) {
        const unsigned f = i * width + l;
        from[l] = {f % n_columns, static_cast<int>(f / n_columns)};
      }
      vectors[i] = permute(b, columns, from);
    }
  }
  for (unsigned i = 0; i < n_columns; ++i)
    b.CreateAlignedStore(vectors[i], b.CreateConstInBoundsGEP1_64(b.getFloatTy(), base, i * width), llvm::Align(4));
}

std::vector<Value*> load_row_columns(llvm::IRBuilder<>& b, const std::vector<Value*>& rows, unsigned n_columns,
                                     const std::vector<bool>& wanted) {
  const unsigned width = static_cast<unsigned>(rows.size());
  std::vector<Value*> columns(n_columns, nullptr);
  for (const RowChunk& c : chunks(n_columns, width)) {
    bool needed = false;
    for (unsigned k = 0; k < c.live; ++k) needed = needed || wanted[c.first + k];
    if (!needed) continue;
    if (c.width == 1) {  // one float per row, inserted lane by lane
      Value* column = llvm::PoisonValue::get(llvm::FixedVectorType::get(b.getFloatTy(), width));
      for (unsigned j = 0; j < width; ++j)
        column = b.CreateInsertElement(
            column, b.CreateLoad(b.getFloatTy(), b.CreateConstInBoundsGEP1_64(b.getFloatTy(), rows[j], c.first)), j);
      columns[c.first] = column;
      continue;
    }
    auto* type = llvm::FixedVectorType::get(b.getFloatTy(), c.width);
    std::vector<Value*> pieces;
    for (Value* row : rows) {
      Value* p = b.CreateConstInBoundsGEP1_64(b.getFloatTy(), row, c.first);
      pieces.push_back(c.live == c.width
                           ? static_cast<Value*>(b.CreateAlignedLoad(type, p, llvm::Align(4)))
                           : b.CreateMaskedLoad(type, p, llvm::Align(4), lane_mask(b, c.live, c.width)));
    }
    std::vector<Value*> vectors;
    const unsigned per_vector = width / c.width;
    for (unsigned k = 0; k < c.width; ++k)
      vectors.push_back(join(b, {pieces.begin() + k * per_vector, pieces.begin() + (k + 1) * per_vector}));
    for (unsigned round = 1; round < c.width; round *= 2) vectors = unzip_round(b, vectors);
    for (unsigned k = 0; k < c.live; ++k) columns[c.first + k] = vectors[k];
  }
  return columns;
}

RowPieces columns_to_rows(llvm::IRBuilder<>& b, const std::vector<Value*>& columns) {
  RowPieces out;
  if (columns.empty()) return out;
  const unsigned width = lanes_of(columns[0]);
  out.chunks = chunks(static_cast<unsigned>(columns.size()), width);
  for (const RowChunk& c : out.chunks) {
    std::vector<Value*> vectors;
    for (unsigned k = 0; k < c.width; ++k)
      vectors.push_back(k < c.live ? columns[c.first + k] : llvm::PoisonValue::get(columns[0]->getType()));
    for (unsigned round = 1; round < c.width; round *= 2) vectors = zip_round(b, vectors);
    const unsigned per_vector = width / c.width;
    std::vector<Value*>& pieces = out.piece.emplace_back();
    for (unsigned j = 0; j < width; ++j) pieces.push_back(slice(b, vectors[j / per_vector], j % per_vector * c.width, c.width));
  }
  return out;
}

void store_rows(llvm::IRBuilder<>& b, const RowPieces& pieces, const std::vector<Value*>& rows,
                const std::vector<Value*>* row_valid) {
  for (std::size_t i = 0; i < pieces.chunks.size(); ++i) {
    const RowChunk& c = pieces.chunks[i];
    llvm::Constant* mask = lane_mask(b, c.live, c.width);
    auto* no_lanes = llvm::Constant::getNullValue(mask->getType());
    for (std::size_t j = 0; j < rows.size(); ++j) {
      Value* p = b.CreateConstInBoundsGEP1_64(b.getFloatTy(), rows[j], c.first);
      if (!row_valid && c.live == c.width)
        b.CreateAlignedStore(pieces.piece[i][j], p, llvm::Align(4));
      else
        b.CreateMaskedStore(pieces.piece[i][j], p, llvm::Align(4),
                            row_valid ? b.CreateSelect((*row_valid)[j], mask, no_lanes) : mask);
    }
  }
}

}  // namespace evoc::codegen
