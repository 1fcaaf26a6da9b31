// Lowering of an ir::Module to a batched LLVM function.
//
// Shape of the generated kernel (W lanes, one row per lane):
//
//   if (n < S) { for (r = 0; r < n; ++r) the scalar copy of the body on row r; return; }
//   steps(x, n, ...):                                 // a separate function
//   for (r = 0; r < n; r += W) {
//     rem = n - r;
//     row[j] = min(j, rem - 1) for j < W;              // lanes past the last row repeat it
//     load rows x + (r + row[j]) * x_stride, transpose them into one vector per input (row_tile.h);
//       a full step over dense rows (x_stride == n_in) loads the block as n_in whole vectors
//     evaluate the graph on <W x float>
//     transpose the outputs back into rows and store row j if j < rem; a full step over dense
//       rows (y_stride == n_out) stores the block as n_out whole vectors
//   }
//
// Lanes beyond the last row recompute it, so no lane ever reads outside the caller's rows, and
// only the rows that exist are stored. Full steps store with constant masks; only the last,
// partial step tests the rows. Small batches (fewer than S rows, batch 1 above all) run
// through a scalar copy of the body instead of a whole W-lane step; it is emitted for modules
// small enough that the copy costs little compile time (see scalar_rows), and the W-lane loop
// is then a function of its own, so that small batches do not pay for its set-up. The graph is emitted
// with ir/scalar.h over LlvmArith: every op becomes the IEEE operations the interpreter performs,
// in its order. Only values that reach an output are lowered. Many exp/log/tanh/sigmoid ops are
// outlined into one internal helper per kind and width (see kOutlineThreshold). The kernel calls
// no external function, so an object file of it has no undefined symbols.
//
// With LowerOptions::tile_loops (the fast-compile shape) a step instead copies its rows into a
// column-major stack tile with two nested loops (lanes without a row compute on zeros), loads one
// vector per input from the tile, stores one vector per output into a second tile, and copies
// the rows that exist out of it with two more loops; there is no scalar copy. The loops are a
// few dozen instructions whatever the number of columns, where the transposes grow with it.
// Huge kernels (kHugeColumns, kHugeOps) take this shape at every level, with each output stored
// into its tile as soon as it is computed. Their graph, when larger than kPartWeight, is cut into
// parts in the order of its values, each an internal function
//
//   SYMBOL.partK(in, out, scratch): for the values of part K, in the interpreter's order: inputs
//     from column c of `in`, values of earlier parts from their slot of `scratch`, outputs
//     stored into column o of `out`, values that later parts read stored into their slot
//
// which the step calls in turn on the tiles (W = 1: on a copy of the row's inputs and the output
// row), so that no LLVM pass sees more than one part at a time and the compile time stays about
// linear in the size of the kernel.
#include "codegen/lower.h"

#include <algorithm>
#include <bit>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <llvm/IR/Constants.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/TargetParser/Triple.h>

#include "codegen/graph_emitter.h"
#include "codegen/llvm_arith.h"
#include "codegen/row_tile.h"
#include "ir/error.h"
#include "ir/scalar.h"

namespace evoc::codegen {
namespace {

using llvm::BasicBlock;

/// Op kinds whose scalar form is long (a polynomial with range reduction).
bool is_transcendental(ir::Op op) {
  return op == ir::Op::Exp || op == ir::Op::Log || op == ir::Op::Tanh || op == ir::Op::Sigmoid;
}

/// From this many live transcendental ops on, each kind is emitted once, as a helper function
/// the kernel calls: LLVM's compile time grows with the size of the kernel body, and hundreds of
/// inlined polynomials (~50 instructions each) would take seconds to compile, while a call that
/// preserves the caller's registers costs about a tenth of the polynomial at run time. Below
/// this, inlining pays: an ensemble of 5 six-class classifiers (30 exps, most of its work) ran
/// 9-10% faster inlined for about 2.5-7 ms of compile time per polynomial (AVX2, shared machine).
constexpr std::size_t kOutlineThreshold = 48;

/// Loop metadata that keeps LLVM from vectorising or unrolling the scalar loop over a few rows.
llvm::MDNode* plain_loop(llvm::LLVMContext& ctx) {
  llvm::Metadata* no_vectorize[] = {llvm::MDString::get(ctx, "llvm.loop.vectorize.enable"),
                                    llvm::ConstantAsMetadata::get(llvm::ConstantInt::getFalse(ctx))};
  llvm::Metadata* no_unroll[] = {llvm::MDString::get(ctx, "llvm.loop.unroll.disable")};
  llvm::Metadata* parts[] = {nullptr, llvm::MDNode::get(ctx, no_vectorize), llvm::MDNode::get(ctx, no_unroll)};
  llvm::MDNode* loop = llvm::MDNode::getDistinct(ctx, parts);
  loop->replaceOperandWith(0, loop);
  return loop;
}

/// Batches of fewer rows than this run through the scalar copy of the body, when there is
/// one. On Zen 4 (AVX-512) a scalar row of a 13-input linear model costs ~11 ns and a 16-lane
/// step, transpositions included, ~45 ns: the copy wins below 4 rows.
constexpr unsigned kScalarRowsMax = 4;

/// The scalar copy is emitted up to this many live ops. Its share of the compile time grows
/// with the module: on a 30-op model it adds under 1 ms, on a 1,000-op model it doubled the
/// compile time for a batch-1 gain of under 10%.
constexpr std::size_t kScalarCopyMaxOps = 400;

/// Largest stack tile (bytes) of the tile_loops shape; wider modules use the transposes.
constexpr std::size_t kMaxTileBytes = 1024 * 1024;

/// Kernels with this many inputs or outputs, or this many live ops, move rows through stack tiles
/// at every level, and store each output into its tile as soon as it is computed. The transposes
/// of the other shape keep every output live until the end of the step, and the back end's
/// register allocator and schedulers take time that grows with the square of that (1,000
/// outputs: 10 s; 2,000: 35 s); through the tile, each output dies where it is computed.
constexpr std::size_t kHugeColumns = 256;
constexpr std::size_t kHugeOps = 8192;

/// Huge kernels with more ops than this (weighed by op_weight, about LLVM instructions) compute
/// their graph in parts of about this size, each an internal function that the step calls, and
/// pass the values read by later parts through a stack tile (plan_parts). Instruction
/// selection works on a basic block at a time and the register allocator on a function at a
/// time, and both take time that grows faster than linearly with their size: parts of bounded
/// size make the compile time about linear in the number of parts.
constexpr std::size_t kPartWeight = 2048;

/// About how many LLVM instructions value `v` becomes (transcendentals: inline, or a call).
std::size_t op_weight(const ir::Value& v, bool outline) {
  if (v.op == ir::Op::Input || v.op == ir::Op::Const) return 0;
  if (is_transcendental(v.op)) return outline ? 2 : 48;
  return 1 + 2 * v.args.size();
}

class KernelLowering {
 public:
  KernelLowering(const ir::Module& m, llvm::Module& out, const LowerOptions& o)
      : m_(m), out_(out), o_(o), b_(out.getContext()), live_(live_values(m)) {
    std::size_t transcendentals = 0;
    for (std::size_t id = 0; id < m.values.size(); ++id) {
      live_ops_ += live_[id] && m.values[id].op != ir::Op::Input;
      transcendentals += live_[id] && is_transcendental(m.values[id].op);
    }
    outline_ = transcendentals >= kOutlineThreshold;
    if (huge() && (tiles() || (o_.width == 1 && m.n_in() * sizeof(float) <= kMaxTileBytes))) plan_parts();
  }

  llvm::Function* run();

 private:
  /// The kernel's function type and attributes, under `name`.
  llvm::Function* declare(const std::string& name, llvm::GlobalValue::LinkageTypes linkage);
  /// The body of a kernel function without a scalar copy: the W-lane loop over every row.
  void emit_steps();
  /// Batches below this many rows run the scalar copy (0: no scalar copy).
  unsigned scalar_rows() const {
    return o_.width > 1 && !tiles() && live_ops_ <= kScalarCopyMaxOps ? std::min(kScalarRowsMax, o_.width) : 0;
  }
  /// Whether steps move rows through stack tiles: LowerOptions::tile_loops, or a huge kernel
  /// (see kHugeColumns), when the tiles fit kMaxTileBytes.
  bool tiles() const {
    const std::size_t columns = std::max(m_.n_in(), m_.outputs.size());
    return (o_.tile_loops || huge()) && o_.width > 1 && columns * o_.width * sizeof(float) <= kMaxTileBytes;
  }
  /// A kernel whose transposes or graph are too large for the back end's superlinear passes.
  bool huge() const { return std::max(m_.n_in(), m_.outputs.size()) >= kHugeColumns || live_ops_ >= kHugeOps; }
  /// The tile_loops step: rows to a stack tile, the graph, the outputs back to rows.
  void emit_tiled_step(llvm::Value* r, BasicBlock* next, BasicBlock* exit);
  /// Cuts a huge graph into parts of about kPartWeight and gives each value that a later part
  /// reads a slot of the scratch tile (slots are reused once their value is dead); leaves
  /// parts_ empty when one part would do, or the scratch tile would pass kMaxTileBytes.
  void plan_parts();
  /// Calls the part functions (created on first use) on the input columns at `in` and the output
  /// columns at `out`: column c at c * W floats (the tiles, or a row when W is 1).
  void emit_part_calls(llvm::Value* in, llvm::Value* out);
  /// The function computing part `p`: (in, out, scratch) -> void.
  llvm::Function* part_function(std::size_t p);
  /// Emits `for (i = 0; i < count; ++i) body(i)` for a count known to be at least 1, and leaves
  /// the builder after the loop.
  template <class Body>
  void emit_loop(llvm::Value* count, const char* name, Body&& body);
  /// A float stack array of `n` elements in the entry block, 64-byte aligned.
  llvm::AllocaInst* tile(std::size_t n, const char* name);
  /// Lowers every live value over `width` lanes, with input i equal to `inputs[i]`; returns
  /// the output values.
  /// If `store_output` is set, it is called with (output index, value) as soon as each output
  /// value is computed, and the returned vector is empty.
  std::vector<llvm::Value*> emit_graph(unsigned width, const std::vector<llvm::Value*>& inputs,
                                       const OutputSink& store_output = {});
  /// Emits one W-lane step over rows r .. r + W - 1 (those past n repeat the last one) and
  /// branches to `next` if all W rows exist, else to `exit`.
  void emit_step(llvm::Value* r, BasicBlock* next, BasicBlock* exit);
  /// The width-1 step over row `r`: the scalar body, or the parts of a huge kernel on the row.
  void emit_one_row_step(llvm::Value* r);
  /// Emits `for (k = r; k < n; ++k)` the scalar copy of the body on row k, then branches to `exit`.
  void emit_scalar_rows(llvm::Value* r, BasicBlock* exit);
  /// Emits the scalar body on row `k`: loads its live inputs, evaluates, stores its outputs.
  void emit_scalar_row(llvm::Value* k);
  /// The rows the W lanes of a step read: min(j, last) for lane j.
  std::vector<llvm::Value*> row_indices(llvm::Value* last);
  /// Pointers to `rows` of the matrix at `base` whose rows are `stride` floats apart.
  std::vector<llvm::Value*> row_pointers(llvm::Value* base, const std::vector<llvm::Value*>& rows, llvm::Value* stride);
  /// Constant `v` over `width` lanes, loaded from the kernel's table of constants (huge kernels:
  /// the back end keeps its constant pool in a list it searches for every new constant, which
  /// took a share of compile time that grew with the square of the number of weights).
  llvm::Value* table_constant(float v, unsigned width) {
    llvm::Type* f32 = b_.getFloatTy();
    if (!table_)
      table_ = new llvm::GlobalVariable(out_, f32, true, llvm::GlobalValue::ExternalLinkage, nullptr,
                                        o_.symbol + ".constants.placeholder");
    const uint32_t bits = std::bit_cast<uint32_t>(v);
    auto [it, added] = table_index_.try_emplace(bits, table_values_.size());
    if (added) table_values_.push_back(v);
    llvm::LoadInst* load =
        b_.CreateAlignedLoad(f32, b_.CreateConstInBoundsGEP1_64(f32, table_, it->second), llvm::Align(4));
    load->setMetadata(llvm::LLVMContext::MD_invariant_load, llvm::MDNode::get(b_.getContext(), {}));
    return width == 1 ? static_cast<llvm::Value*>(load) : b_.CreateVectorSplat(width, load);
  }
  /// Gives the table of constants its contents (once the kernel is lowered).
  void finish_table() {
    if (!table_) return;
    auto* type = llvm::ArrayType::get(b_.getFloatTy(), table_values_.size());
    auto* table = new llvm::GlobalVariable(out_, type, true, llvm::GlobalValue::PrivateLinkage,
                                           llvm::ConstantDataArray::get(b_.getContext(), table_values_),
                                           o_.symbol + ".constants");
    table->setAlignment(llvm::Align(64));
    table_->replaceAllUsesWith(table);
    table_->eraseFromParent();
    table_ = nullptr;
  }
  /// `op` applied to `x` (of `width` lanes), inline or through the op's helper function.
  llvm::Value* emit_unary(LlvmArith& arith, unsigned width, ir::Op op, llvm::Value* x);
  /// The helper function computing `op` over `width` lanes (created on first use).
  llvm::Function* helper(ir::Op op, unsigned width);

  llvm::Value* arg(unsigned i) const { return fn_->getArg(i); }
  llvm::Value* x() const { return arg(0); }
  llvm::Value* n() const { return arg(1); }
  llvm::Value* x_stride() const { return arg(2); }
  llvm::Value* y() const { return arg(3); }
  llvm::Value* y_stride() const { return arg(4); }

  const ir::Module& m_;
  llvm::Module& out_;
  const LowerOptions& o_;
  llvm::IRBuilder<> b_;
  const std::vector<bool> live_;
  std::size_t live_ops_ = 0;
  bool outline_ = false;
  llvm::Function* fn_ = nullptr;
  llvm::Function* scalar_helpers_[ir::kNumOps] = {};
  llvm::Function* vector_helpers_[ir::kNumOps] = {};
  llvm::AllocaInst* tile_in_ = nullptr;   ///< n_in x W floats, column-major (tile_loops)
  llvm::AllocaInst* tile_out_ = nullptr;  ///< n_out x W floats, column-major (tile_loops)
  llvm::GlobalVariable* table_ = nullptr;  ///< the table of constants while lowering (huge kernels)
  /// The parts of a huge graph (see plan_parts): part p computes the values [parts_[p], parts_[p + 1]).
  std::vector<std::size_t> parts_;
  std::vector<uint32_t> slot_;     ///< per value: its scratch slot (kNoSlot: read in no later part)
  std::size_t n_slots_ = 0;
  llvm::AllocaInst* scratch_ = nullptr;  ///< n_slots_ x W floats (parts)
  std::vector<llvm::Function*> part_functions_;
  static constexpr uint32_t kNoSlot = UINT32_MAX;
  std::vector<float> table_values_;
  std::unordered_map<uint32_t, std::size_t> table_index_;  ///< by bit pattern
};

llvm::Function* KernelLowering::declare(const std::string& name, llvm::GlobalValue::LinkageTypes linkage) {
  llvm::Type* ptr = b_.getPtrTy();
  llvm::Type* i64 = b_.getInt64Ty();
  auto* type = llvm::FunctionType::get(b_.getVoidTy(), {ptr, i64, i64, ptr, i64}, false);
  if (out_.getFunction(name)) throw Error("kernel symbol '" + name + "' is already defined");
  auto* fn = llvm::Function::Create(type, linkage, name, out_);
  const char* names[] = {"x", "n", "x_stride", "y", "y_stride"};
  for (unsigned i = 0; i < 5; ++i) fn->getArg(i)->setName(names[i]);
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  fn->addFnAttr(llvm::Attribute::NoFree);
  fn->addFnAttr(llvm::Attribute::NoSync);
  fn->addFnAttr("no-builtins");
  fn->addFnAttr("min-legal-vector-width", std::to_string(32 * o_.width));
  for (unsigned i : {0u, 3u}) fn->addParamAttr(i, llvm::Attribute::NoCapture);
  fn->addParamAttr(0, llvm::Attribute::ReadOnly);
  fn->addParamAttr(3, llvm::Attribute::WriteOnly);
  return fn;
}

llvm::Function* KernelLowering::run() {
  llvm::LLVMContext& ctx = out_.getContext();
  if (o_.fast_math) {
    llvm::FastMathFlags fmf;
    fmf.setAllowReassoc();
    fmf.setAllowContract();
    b_.setFastMathFlags(fmf);
  }
  llvm::Function* kernel = declare(o_.symbol, llvm::GlobalValue::ExternalLinkage);
  const unsigned s = scalar_rows();
  if (s == 0) {
    fn_ = kernel;
    emit_steps();
    finish_table();
    return kernel;
  }
  // Batches of fewer than S rows run the scalar copy in the kernel itself; larger ones call
  // the W-lane loop, a separate function, so that its set-up (saved registers, hoisted vector
  // constants) is not paid by small batches.
  llvm::Function* steps = declare(o_.symbol + ".steps", llvm::GlobalValue::InternalLinkage);
  steps->addFnAttr(llvm::Attribute::NoInline);
  fn_ = steps;
  emit_steps();
  fn_ = kernel;
  BasicBlock* entry = BasicBlock::Create(ctx, "entry", fn_);
  BasicBlock* few = BasicBlock::Create(ctx, "few", fn_);
  BasicBlock* many = BasicBlock::Create(ctx, "many", fn_);
  BasicBlock* exit = BasicBlock::Create(ctx, "exit", fn_);
  b_.SetInsertPoint(entry);
  b_.CreateCondBr(b_.CreateICmpSGE(n(), b_.getInt64(s)), many, few);
  b_.SetInsertPoint(few);
  BasicBlock* scalar = BasicBlock::Create(ctx, "scalar", fn_, many);
  b_.CreateCondBr(b_.CreateICmpSGT(n(), b_.getInt64(0)), scalar, exit);
  b_.SetInsertPoint(scalar);
  emit_scalar_rows(b_.getInt64(0), exit);
  b_.SetInsertPoint(many);
  llvm::CallInst* call = b_.CreateCall(steps, {x(), n(), x_stride(), y(), y_stride()});
  call->setTailCall();
  b_.CreateBr(exit);
  b_.SetInsertPoint(exit);
  b_.CreateRetVoid();
  finish_table();
  return kernel;
}

void KernelLowering::emit_steps() {
  llvm::LLVMContext& ctx = out_.getContext();
  BasicBlock* entry = BasicBlock::Create(ctx, "entry", fn_);
  BasicBlock* dispatch = BasicBlock::Create(ctx, "dispatch", fn_);
  BasicBlock* step = BasicBlock::Create(ctx, "step", fn_);
  BasicBlock* next = BasicBlock::Create(ctx, "next", fn_);
  BasicBlock* exit = BasicBlock::Create(ctx, "exit", fn_);

  b_.SetInsertPoint(entry);
  if (!parts_.empty()) {
    scratch_ = tile(n_slots_ * o_.width, "scratch");
    if (o_.width == 1) tile_in_ = tile(m_.n_in(), "tile.in");
  }
  if (tiles()) {
    tile_in_ = tile(m_.n_in() * o_.width, "tile.in");
    tile_out_ = tile(m_.outputs.size() * o_.width, "tile.out");
    // Lanes of rows past the last one compute on zeros (never stored), not on undefined memory.
    auto* vec = llvm::FixedVectorType::get(b_.getFloatTy(), o_.width);
    for (std::size_t c = 0; c < m_.n_in(); ++c)
      b_.CreateAlignedStore(llvm::Constant::getNullValue(vec),
                            b_.CreateConstInBoundsGEP1_64(b_.getFloatTy(), tile_in_, c * o_.width),
                            llvm::commonAlignment(llvm::Align(64), c * o_.width * sizeof(float)));
  }
  b_.CreateCondBr(b_.CreateICmpSGT(n(), b_.getInt64(0)), dispatch, exit);

  b_.SetInsertPoint(dispatch);
  llvm::PHINode* r = b_.CreatePHI(b_.getInt64Ty(), 2, "r");
  r->addIncoming(b_.getInt64(0), entry);
  b_.CreateBr(step);

  b_.SetInsertPoint(step);
  emit_step(r, next, exit);

  b_.SetInsertPoint(next);
  llvm::Value* r_next = b_.CreateAdd(r, b_.getInt64(o_.width), "r.next");
  r->addIncoming(r_next, next);
  b_.CreateCondBr(b_.CreateICmpSLT(r_next, n()), dispatch, exit);

  b_.SetInsertPoint(exit);
  b_.CreateRetVoid();
}

std::vector<llvm::Value*> KernelLowering::row_indices(llvm::Value* last) {
  std::vector<llvm::Value*> rows{b_.getInt64(0)};
  for (unsigned j = 1; j < o_.width; ++j)
    rows.push_back(b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b_.getInt64(j), last));
  return rows;
}

std::vector<llvm::Value*> KernelLowering::row_pointers(llvm::Value* base, const std::vector<llvm::Value*>& rows,
                                                       llvm::Value* stride) {
  std::vector<llvm::Value*> pointers;
  for (llvm::Value* row : rows) pointers.push_back(b_.CreateInBoundsGEP(b_.getFloatTy(), base, b_.CreateMul(row, stride)));
  return pointers;
}

void KernelLowering::emit_one_row_step(llvm::Value* r) {
  if (parts_.empty()) {
    emit_scalar_row(r);
    return;
  }
  // A row is a tile of one lane. The inputs are copied first, so that a row may be scored in
  // place (as every other shape allows): the parts store outputs while later ones read inputs.
  llvm::Type* f32 = b_.getFloatTy();
  llvm::Value* x_row = b_.CreateInBoundsGEP(f32, x(), b_.CreateMul(r, x_stride()), "x.row");
  if (m_.n_in() > 0)
    emit_loop(b_.getInt64(m_.n_in()), "in.col", [&](llvm::Value* c) {
      b_.CreateStore(b_.CreateLoad(f32, b_.CreateInBoundsGEP(f32, x_row, c)), b_.CreateInBoundsGEP(f32, tile_in_, c));
    });
  emit_part_calls(tile_in_, b_.CreateInBoundsGEP(f32, y(), b_.CreateMul(r, y_stride()), "y.row"));
}

void KernelLowering::emit_step(llvm::Value* r, BasicBlock* next, BasicBlock* exit) {
  llvm::LLVMContext& ctx = out_.getContext();
  const unsigned width = o_.width;
  if (width == 1) {
    emit_one_row_step(r);
    b_.CreateBr(next);
    return;
  }
  if (tiles()) {
    emit_tiled_step(r, next, exit);
    return;
  }
  llvm::Value* x_rows = b_.CreateInBoundsGEP(b_.getFloatTy(), x(), b_.CreateMul(r, x_stride()), "x.rows");
  llvm::Value* y_rows = b_.CreateInBoundsGEP(b_.getFloatTy(), y(), b_.CreateMul(r, y_stride()), "y.rows");
  const unsigned n_in = static_cast<unsigned>(m_.n_in());
  llvm::Value* last = b_.CreateSub(b_.CreateSub(n(), r), b_.getInt64(1), "last");
  const std::vector<llvm::Value*> rows = row_indices(last);
  llvm::Value* full = b_.CreateICmpSGE(last, b_.getInt64(width - 1), "full");
  auto load_rows = [&] { return load_row_columns(b_, row_pointers(x_rows, rows, x_stride()), n_in, live_); };
  std::vector<llvm::Value*> columns;
  if (has_block_path(n_in, width)) {
    // Full steps over dense rows read the block as whole vectors.
    BasicBlock* block = BasicBlock::Create(ctx, "load.block", fn_, next);
    BasicBlock* rows_apart = BasicBlock::Create(ctx, "load.rows", fn_, next);
    BasicBlock* loaded = BasicBlock::Create(ctx, "loaded", fn_, next);
    b_.CreateCondBr(b_.CreateAnd(full, b_.CreateICmpEQ(x_stride(), b_.getInt64(n_in))), block, rows_apart);
    b_.SetInsertPoint(block);
    const std::vector<llvm::Value*> from_block = load_block_columns(b_, x_rows, n_in, width, live_);
    BasicBlock* block_end = b_.GetInsertBlock();
    b_.CreateBr(loaded);
    b_.SetInsertPoint(rows_apart);
    const std::vector<llvm::Value*> from_rows = load_rows();
    BasicBlock* rows_end = b_.GetInsertBlock();
    b_.CreateBr(loaded);
    b_.SetInsertPoint(loaded);
    for (unsigned c = 0; c < n_in; ++c) {
      if (!from_block[c] || !from_rows[c]) {
        columns.push_back(nullptr);
        continue;
      }
      llvm::PHINode* phi = b_.CreatePHI(from_block[c]->getType(), 2);
      phi->addIncoming(from_block[c], block_end);
      phi->addIncoming(from_rows[c], rows_end);
      columns.push_back(phi);
    }
  } else {
    columns = load_rows();
  }
  const std::vector<llvm::Value*> outputs = emit_graph(width, columns);
  const unsigned n_out = static_cast<unsigned>(outputs.size());
  if (has_block_path(n_out, width)) {
    // Full steps over dense output rows write the block as whole vectors (one output: one store).
    BasicBlock* block = BasicBlock::Create(ctx, "store.block", fn_, next);
    BasicBlock* rows_apart = BasicBlock::Create(ctx, "store.rows", fn_, next);
    b_.CreateCondBr(b_.CreateAnd(full, b_.CreateICmpEQ(y_stride(), b_.getInt64(n_out))), block, rows_apart);
    b_.SetInsertPoint(block);
    store_block_rows(b_, y_rows, outputs);
    b_.CreateBr(next);
    b_.SetInsertPoint(rows_apart);
  }
  const std::vector<llvm::Value*> y_row = row_pointers(y_rows, rows, y_stride());
  const RowPieces rows_out = columns_to_rows(b_, outputs);
  BasicBlock* store_all = BasicBlock::Create(ctx, "store.all", fn_, next);
  BasicBlock* store_last = BasicBlock::Create(ctx, "store.last", fn_, next);
  b_.CreateCondBr(full, store_all, store_last);

  b_.SetInsertPoint(store_all);
  store_rows(b_, rows_out, y_row, nullptr);
  b_.CreateBr(next);

  b_.SetInsertPoint(store_last);
  std::vector<llvm::Value*> row_exists;
  for (unsigned j = 0; j < width; ++j) row_exists.push_back(b_.CreateICmpSLE(b_.getInt64(j), last));
  store_rows(b_, rows_out, y_row, &row_exists);
  b_.CreateBr(exit);
}

llvm::AllocaInst* KernelLowering::tile(std::size_t n, const char* name) {
  auto* tile = b_.CreateAlloca(llvm::ArrayType::get(b_.getFloatTy(), std::max<std::size_t>(n, 1)), nullptr, name);
  tile->setAlignment(llvm::Align(64));
  return tile;
}

template <class Body>
void KernelLowering::emit_loop(llvm::Value* count, const char* name, Body&& body) {
  llvm::LLVMContext& ctx = out_.getContext();
  BasicBlock* pre = b_.GetInsertBlock();
  BasicBlock* loop = BasicBlock::Create(ctx, name, fn_, pre->getNextNode());
  BasicBlock* after = BasicBlock::Create(ctx, std::string(name) + ".end", fn_, loop->getNextNode());
  b_.CreateBr(loop);
  b_.SetInsertPoint(loop);
  llvm::PHINode* i = b_.CreatePHI(b_.getInt64Ty(), 2, name);
  i->addIncoming(b_.getInt64(0), pre);
  body(static_cast<llvm::Value*>(i));
  llvm::Value* i_next = b_.CreateAdd(i, b_.getInt64(1));
  i->addIncoming(i_next, b_.GetInsertBlock());
  b_.CreateCondBr(b_.CreateICmpSLT(i_next, count), loop, after)->setMetadata(llvm::LLVMContext::MD_loop, plain_loop(ctx));
  b_.SetInsertPoint(after);
}

void KernelLowering::emit_tiled_step(llvm::Value* r, BasicBlock* next, BasicBlock* exit) {
  const unsigned width = o_.width;
  llvm::Type* f32 = b_.getFloatTy();
  llvm::Value* w = b_.getInt64(width);
  llvm::Value* x_rows = b_.CreateInBoundsGEP(f32, x(), b_.CreateMul(r, x_stride()), "x.rows");
  llvm::Value* y_rows = b_.CreateInBoundsGEP(f32, y(), b_.CreateMul(r, y_stride()), "y.rows");
  llvm::Value* last = b_.CreateSub(b_.CreateSub(n(), r), b_.getInt64(1), "last");
  const std::size_t n_in = m_.n_in(), n_out = m_.outputs.size();
  // tile.in[c * W + j] = x[r + j][c] for the rows that exist; the lanes of missing rows keep
  // what they held (zeros, or an earlier row) and are not stored.
  llvm::Value* rows = b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, w, b_.CreateAdd(last, b_.getInt64(1)), nullptr, "rows");
  if (n_in > 0)
    emit_loop(rows, "in.row", [&](llvm::Value* j) {
      llvm::Value* src = b_.CreateInBoundsGEP(f32, x_rows, b_.CreateMul(j, x_stride()));
      emit_loop(b_.getInt64(n_in), "in.col", [&](llvm::Value* c) {
        llvm::Value* v = b_.CreateLoad(f32, b_.CreateInBoundsGEP(f32, src, c));
        b_.CreateStore(v, b_.CreateInBoundsGEP(f32, tile_in_, b_.CreateAdd(b_.CreateMul(c, w), j)));
      });
    });
  auto* vec = llvm::FixedVectorType::get(f32, width);
  auto slot = [&](llvm::AllocaInst* t, std::size_t c) {
    return std::pair{b_.CreateConstInBoundsGEP1_64(f32, t, c * width),
                     llvm::commonAlignment(llvm::Align(64), c * width * sizeof(float))};
  };
  if (!parts_.empty()) {
    emit_part_calls(tile_in_, tile_out_);
  } else {
    std::vector<llvm::Value*> columns(n_in, nullptr);
    for (std::size_t c = 0; c < n_in; ++c)
      if (live_[c]) {
        const auto [p, align] = slot(tile_in_, c);
        columns[c] = b_.CreateAlignedLoad(vec, p, align);
      }
    emit_graph(width, columns, [&](std::size_t o, llvm::Value* v) {
      const auto [p, align] = slot(tile_out_, o);
      b_.CreateAlignedStore(v, p, align);
    });
  }
  // y[r + j][o] = tile.out[o * W + j] for the rows that exist
  if (n_out > 0) {
    emit_loop(rows, "out.row", [&](llvm::Value* j) {
      llvm::Value* dst = b_.CreateInBoundsGEP(f32, y_rows, b_.CreateMul(j, y_stride()));
      emit_loop(b_.getInt64(n_out), "out.col", [&](llvm::Value* c) {
        llvm::Value* v = b_.CreateLoad(f32, b_.CreateInBoundsGEP(f32, tile_out_, b_.CreateAdd(b_.CreateMul(c, w), j)));
        b_.CreateStore(v, b_.CreateInBoundsGEP(f32, dst, c));
      });
    });
  }
  b_.CreateCondBr(b_.CreateICmpSGE(last, b_.getInt64(width - 1), "full"), next, exit);
}

void KernelLowering::plan_parts() {
  const std::size_t n_values = m_.values.size();
  std::vector<std::size_t> cuts{0};
  std::size_t weight = 0;
  for (std::size_t id = 0; id < n_values; ++id) {
    if (!live_[id]) continue;
    const std::size_t w = op_weight(m_.values[id], outline_);
    if (weight > 0 && weight + w > kPartWeight) {
      cuts.push_back(id);
      weight = 0;
    }
    weight += w;
  }
  cuts.push_back(n_values);
  if (cuts.size() <= 2) return;  // one part
  // part_of[id]: the part computing value id; last[id]: the last part that reads it.
  std::vector<uint32_t> part_of(n_values), last(n_values, 0);
  for (uint32_t p = 0; p + 1 < cuts.size(); ++p)
    for (std::size_t id = cuts[p]; id < cuts[p + 1]; ++id) part_of[id] = p;
  for (std::size_t id = 0; id < n_values; ++id)
    if (live_[id])
      for (ir::ValueId a : m_.values[id].args) last[a] = std::max(last[a], part_of[id]);
  // Slots: a value computed in part p and last read in part q > p holds its slot from p to q;
  // the slot is free again from part q + 1 on (part q may read it after storing its own values).
  std::vector<std::vector<uint32_t>> freed_after(cuts.size());
  std::vector<uint32_t> free_slots;
  slot_.assign(n_values, kNoSlot);
  n_slots_ = 0;
  for (uint32_t p = 0; p + 1 < cuts.size(); ++p) {
    if (p > 0)
      for (uint32_t s : freed_after[p - 1]) free_slots.push_back(s);
    for (std::size_t id = cuts[p]; id < cuts[p + 1]; ++id) {
      const ir::Op op = m_.values[id].op;
      if (!live_[id] || op == ir::Op::Input || op == ir::Op::Const || last[id] <= p) continue;
      uint32_t s;
      if (free_slots.empty()) {
        s = static_cast<uint32_t>(n_slots_++);
      } else {
        s = free_slots.back();
        free_slots.pop_back();
      }
      slot_[id] = s;
      freed_after[last[id]].push_back(s);
    }
  }
  if (n_slots_ * o_.width * sizeof(float) > kMaxTileBytes) {  // too many values cross: one part
    slot_.clear();
    n_slots_ = 0;
    return;
  }
  parts_ = std::move(cuts);
}

void KernelLowering::emit_part_calls(llvm::Value* in, llvm::Value* out) {
  for (std::size_t p = 0; p + 1 < parts_.size(); ++p) {
    llvm::Function* fn = part_function(p);
    b_.CreateCall(fn, {in, out, scratch_});
  }
}

llvm::Function* KernelLowering::part_function(std::size_t p) {
  if (part_functions_.empty()) part_functions_.resize(parts_.size() - 1, nullptr);
  if (part_functions_[p]) return part_functions_[p];
  llvm::LLVMContext& ctx = out_.getContext();
  llvm::Type* ptr = b_.getPtrTy();
  auto* fn = llvm::Function::Create(llvm::FunctionType::get(b_.getVoidTy(), {ptr, ptr, ptr}, false),
                                    llvm::GlobalValue::InternalLinkage, o_.symbol + ".part" + std::to_string(p), out_);
  for (const char* attribute : {"no-builtins", "min-legal-vector-width"}) fn->addFnAttr(fn_->getFnAttribute(attribute));
  for (auto kind : {llvm::Attribute::NoUnwind, llvm::Attribute::NoFree, llvm::Attribute::NoSync,
                    llvm::Attribute::NoInline, llvm::Attribute::WillReturn})
    fn->addFnAttr(kind);
  for (unsigned i = 0; i < 3; ++i) {
    fn->addParamAttr(i, llvm::Attribute::NoCapture);
    fn->addParamAttr(i, llvm::Attribute::NoAlias);
  }
  fn->addParamAttr(0, llvm::Attribute::ReadOnly);
  fn->addParamAttr(1, llvm::Attribute::WriteOnly);
  part_functions_[p] = fn;

  const llvm::IRBuilderBase::InsertPointGuard guard(b_);
  b_.SetInsertPoint(BasicBlock::Create(ctx, "entry", fn));
  const unsigned width = o_.width;
  llvm::Type* f32 = b_.getFloatTy();
  llvm::Type* type = width == 1 ? f32 : static_cast<llvm::Type*>(llvm::FixedVectorType::get(f32, width));
  // Column c of a tile: c * W floats from its start, aligned as the tile (64 bytes) allows.
  auto column = [&](llvm::Value* base, std::size_t c) {
    return std::pair{b_.CreateConstInBoundsGEP1_64(f32, base, c * width),
                     width == 1 ? llvm::Align(4) : llvm::commonAlignment(llvm::Align(64), c * width * sizeof(float))};
  };
  llvm::Value* in = fn->getArg(0);
  llvm::Value* out = fn->getArg(1);
  llvm::Value* scratch = fn->getArg(2);
  GraphPart part;
  part.first = parts_[p];
  part.end = parts_[p + 1];
  part.read = [&](ir::ValueId id) -> llvm::Value* {
    const bool input = m_.values[id].op == ir::Op::Input;
    const auto [q, align] = column(input ? in : scratch, input ? id : slot_[id]);
    return b_.CreateAlignedLoad(type, q, align);
  };
  part.defined = [&](ir::ValueId id, llvm::Value* v) {
    if (slot_[id] == kNoSlot) return;
    const auto [q, align] = column(scratch, slot_[id]);
    b_.CreateAlignedStore(v, q, align);
  };
  const GraphShape shape{.width = width, .native_floor = o_.native_floor, .stream_dots = false};
  codegen::emit_graph(
      b_, m_, live_, shape, {}, [&](LlvmArith& a, ir::Op op, llvm::Value* x) { return emit_unary(a, width, op, x); },
      [this, width](float v) { return table_constant(v, width); },
      [&](std::size_t o, llvm::Value* v) {
        const auto [q, align] = column(out, o);
        b_.CreateAlignedStore(v, q, align);
      },
      &part);
  b_.CreateRetVoid();
  return fn;
}

void KernelLowering::emit_scalar_rows(llvm::Value* r, BasicBlock* exit) {
  llvm::LLVMContext& ctx = out_.getContext();
  BasicBlock* pre = b_.GetInsertBlock();
  BasicBlock* loop = BasicBlock::Create(ctx, "scalar.row", fn_, exit);
  b_.CreateBr(loop);
  b_.SetInsertPoint(loop);
  llvm::PHINode* k = b_.CreatePHI(b_.getInt64Ty(), 2, "k");
  k->addIncoming(r, pre);
  emit_scalar_row(k);
  llvm::Value* k_next = b_.CreateAdd(k, b_.getInt64(1));
  k->addIncoming(k_next, b_.GetInsertBlock());
  b_.CreateCondBr(b_.CreateICmpSLT(k_next, n()), loop, exit)->setMetadata(llvm::LLVMContext::MD_loop, plain_loop(ctx));
}

void KernelLowering::emit_scalar_row(llvm::Value* k) {
  llvm::Value* x_row = b_.CreateInBoundsGEP(b_.getFloatTy(), x(), b_.CreateMul(k, x_stride()), "x.row");
  llvm::Value* y_row = b_.CreateInBoundsGEP(b_.getFloatTy(), y(), b_.CreateMul(k, y_stride()), "y.row");
  std::vector<llvm::Value*> inputs(m_.n_in(), nullptr);
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (live_[i]) inputs[i] = b_.CreateLoad(b_.getFloatTy(), b_.CreateConstInBoundsGEP1_64(b_.getFloatTy(), x_row, i));
  const std::vector<llvm::Value*> outputs = emit_graph(1, inputs);
  for (std::size_t o = 0; o < outputs.size(); ++o)
    b_.CreateStore(outputs[o], b_.CreateConstInBoundsGEP1_64(b_.getFloatTy(), y_row, o));
}

// Scalar code (one row) runs faster with each dot in one piece (measured: 42 vs 56 ns per row on
// a 98-op model), and the fast-compile shape compiles faster so: only optimised vector steps
// stream dot terms (see GraphShape::stream_dots). Huge kernels read their constants from a table
// (see table_constant).
std::vector<llvm::Value*> KernelLowering::emit_graph(unsigned width, const std::vector<llvm::Value*>& inputs,
                                                     const OutputSink& store_output) {
  const GraphShape shape{.width = width, .native_floor = o_.native_floor, .stream_dots = width > 1 && !tiles()};
  ConstantSource constants;
  if (huge() && width > 1) constants = [this, width](float v) { return table_constant(v, width); };
  return codegen::emit_graph(
      b_, m_, live_, shape, inputs, [&](LlvmArith& a, ir::Op op, llvm::Value* x) { return emit_unary(a, width, op, x); },
      constants, store_output);
}

llvm::Value* KernelLowering::emit_unary(LlvmArith& arith, unsigned width, ir::Op op, llvm::Value* x) {
  if (!outline_ || !is_transcendental(op)) return ir::scalar::unary(arith, op, x);
  llvm::Function* fn = helper(op, width);
  llvm::CallInst* call = b_.CreateCall(fn, {x});
  call->setCallingConv(fn->getCallingConv());
  return call;
}

// The helper is internal and never inlined. On x86-64 and AArch64 it preserves every register
// it does not return in (preserve_all), so that the kernel keeps its live values in registers
// across the call.
llvm::Function* KernelLowering::helper(ir::Op op, unsigned width) {
  llvm::Function*& fn = (width == 1 ? scalar_helpers_ : vector_helpers_)[static_cast<int>(op)];
  if (fn) return fn;
  LlvmArith arith_type(b_, width, o_.native_floor);
  llvm::Type* t = arith_type.float_type();
  const std::string suffix = width == 1 && o_.width > 1 ? ".scalar" : "";
  fn = llvm::Function::Create(llvm::FunctionType::get(t, {t}, false), llvm::GlobalValue::InternalLinkage,
                              o_.symbol + "." + std::string(ir::op_name(op)) + suffix, out_);
  const llvm::Triple triple(out_.getTargetTriple());
  if (triple.getArch() == llvm::Triple::x86_64 || triple.isAArch64()) fn->setCallingConv(llvm::CallingConv::PreserveAll);
  for (const char* attribute : {"no-builtins", "min-legal-vector-width"}) fn->addFnAttr(fn_->getFnAttribute(attribute));
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  fn->addFnAttr(llvm::Attribute::NoInline);
  fn->setDoesNotAccessMemory();
  fn->addFnAttr(llvm::Attribute::WillReturn);
  llvm::IRBuilder<> body(llvm::BasicBlock::Create(out_.getContext(), "entry", fn));
  body.setFastMathFlags(b_.getFastMathFlags());
  LlvmArith arith(body, width, o_.native_floor);
  body.CreateRet(ir::scalar::unary(arith, op, fn->getArg(0)));
  return fn;
}

}  // namespace

llvm::Function* lower_kernel(const ir::Module& m, llvm::Module& out, const LowerOptions& options) {
  return KernelLowering(m, out, options).run();
}

}  // namespace evoc::codegen
