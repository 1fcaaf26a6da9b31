// Moving rows into lanes and back: the kernel reads W rows of a row-major matrix with
// contiguous (masked) vector loads, one or a few per row, and transposes them in registers into
// one W-lane vector per column; outputs take the inverse path. This replaces a gather per input
// and a scatter per output, which cost one memory access per lane and defeat the hardware
// prefetchers. Private to codegen/.
//
// The columns are cut into chunks: W columns at a time, then one chunk of the next power of two
// above the columns left. A chunk of V = 2^b columns is transposed with b rounds of two-source
// shuffles (b * V shuffles per W rows), plus W - V shuffles that join the V-lane row pieces
// into W-lane vectors when V < W; a single column is read with one scalar load per row. When W
// is not a power of two, every chunk is a single column. Lanes past the last column are masked
// off in every load and store, so no byte outside a row's columns is read or written.
#pragma once

#include <vector>

#include <llvm/IR/IRBuilder.h>

namespace evoc::codegen {

/// Whether W dense rows of `n_columns` floats (the row stride equal to the columns) have a
/// block path: the W * n_columns floats are read or written as n_columns whole W-lane vectors
/// and permuted in registers. Powers of two use the same unzip/zip rounds as the row path
/// without its per-row pieces; 3, 5 and 6 columns at W = 16 use a tree of two-source
/// shuffles per column (k - 1 each, one instruction each with AVX-512); other shapes have none.
bool has_block_path(unsigned n_columns, unsigned width);

/// The block path of load_row_columns: columns [0, n_columns) of the W dense rows at `base`.
std::vector<llvm::Value*> load_block_columns(llvm::IRBuilder<>& b, llvm::Value* base, unsigned n_columns,
                                             unsigned width, const std::vector<bool>& wanted);

/// The block path of columns_to_rows + store_rows: `columns` as W dense rows at `base`.
void store_block_rows(llvm::IRBuilder<>& b, llvm::Value* base, const std::vector<llvm::Value*>& columns);

/// Loads columns [0, n_columns) of W rows (W >= 2), `rows[j]` pointing at row j. Returns one <W x float> per column; a column none of `wanted` asks for may be
/// null. Chunks without a wanted column are not loaded.
std::vector<llvm::Value*> load_row_columns(llvm::IRBuilder<>& b, const std::vector<llvm::Value*>& rows,
                                           unsigned n_columns, const std::vector<bool>& wanted);

/// Columns [first, first + live) of a row, read or written as one vector of `width` lanes
/// (the next power of two at or above `live`).
struct RowChunk {
  unsigned first, live, width;
};

/// Output columns transposed into W rows: piece[c][j] holds chunk c of row j.
struct RowPieces {
  std::vector<RowChunk> chunks;
  std::vector<std::vector<llvm::Value*>> piece;
};

/// Transposes `columns` (each <W x float>, lane j for row j) into rows.
RowPieces columns_to_rows(llvm::IRBuilder<>& b, const std::vector<llvm::Value*>& columns);

/// Stores the rows of `pieces`, `rows[j]` pointing at row j. Row j is written only where
/// `row_valid` is null or `row_valid[j]` (an i1) is true.
void store_rows(llvm::IRBuilder<>& b, const RowPieces& pieces, const std::vector<llvm::Value*>& rows,
                const std::vector<llvm::Value*>* row_valid);

}  // namespace evoc::codegen
