// Lowering of an ir::Module to a batched LLVM function.
//
// Shape of the generated kernel (W lanes, one row per lane):
//
//   for (r = 0; r < n; r += W) {
//     rem = n - r;
//     row[l] = min(l, rem - 1);                    // lanes past the last row repeat it
//     in_i  = gather(x + r*x_stride + row*x_stride + i)    for each live input i
//     evaluate the graph on <W x float>
//     if (rem >= W) scatter(y + r*y_stride + row*y_stride + o, out_o)         // every lane
//     else { copy the lanes to the stack; store rows 0..rem-1 in a loop; return; }
//   }
//
// Lanes beyond the last row recompute it, so no lane ever reads outside the caller's rows, and
// only the lanes of real rows are stored. The graph is emitted once, with ir/scalar.h over
// LlvmArith: every op becomes the IEEE operations the interpreter performs, in its order.
// Gathers and scatters with constant masks become plain loads and stores on targets without
// fast gathers. Only values that reach an output are lowered. Many exp/log/tanh/sigmoid ops are
// outlined into one internal helper per kind (see kOutlineThreshold). The kernel calls no
// external function, so an object file of it has no undefined symbols.
#include "codegen/lower.h"

#include <vector>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/TargetParser/Triple.h>

#include "codegen/llvm_arith.h"
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
/// preserves the caller's registers costs little at run time.
constexpr std::size_t kOutlineThreshold = 24;

/// Values that an output depends on.
std::vector<bool> live_values(const ir::Module& m) {
  std::vector<bool> live(m.values.size(), false);
  for (ir::ValueId out : m.outputs) live[out] = true;
  for (std::size_t id = m.values.size(); id-- > 0;)
    if (live[id])
      for (ir::ValueId arg : m.values[id].args) live[arg] = true;
  return live;
}

/// Loop metadata that keeps LLVM from vectorising or unrolling a loop of at most W rows.
llvm::MDNode* plain_loop(llvm::LLVMContext& ctx) {
  llvm::Metadata* no_vectorize[] = {llvm::MDString::get(ctx, "llvm.loop.vectorize.enable"),
                                    llvm::ConstantAsMetadata::get(llvm::ConstantInt::getFalse(ctx))};
  llvm::Metadata* no_unroll[] = {llvm::MDString::get(ctx, "llvm.loop.unroll.disable")};
  llvm::Metadata* parts[] = {nullptr, llvm::MDNode::get(ctx, no_vectorize), llvm::MDNode::get(ctx, no_unroll)};
  llvm::MDNode* loop = llvm::MDNode::getDistinct(ctx, parts);
  loop->replaceOperandWith(0, loop);
  return loop;
}

/// Emits `for (k = 0; k < count; ++k) body(k)` (count >= 1) at the builder's position and leaves
/// the builder after the loop.
template <class Body>
void emit_loop(llvm::IRBuilder<>& b, llvm::Value* count, Body&& body) {
  llvm::LLVMContext& ctx = b.getContext();
  BasicBlock* pre = b.GetInsertBlock();
  BasicBlock* loop = BasicBlock::Create(ctx, "loop", pre->getParent());
  BasicBlock* done = BasicBlock::Create(ctx, "loop.done", pre->getParent());
  b.CreateBr(loop);
  b.SetInsertPoint(loop);
  llvm::PHINode* k = b.CreatePHI(b.getInt64Ty(), 2, "k");
  k->addIncoming(b.getInt64(0), pre);
  body(static_cast<llvm::Value*>(k));
  llvm::Value* next = b.CreateAdd(k, b.getInt64(1));
  k->addIncoming(next, b.GetInsertBlock());
  b.CreateCondBr(b.CreateICmpSLT(next, count), loop, done)->setMetadata(llvm::LLVMContext::MD_loop, plain_loop(ctx));
  b.SetInsertPoint(done);
}

class KernelLowering {
 public:
  KernelLowering(const ir::Module& m, llvm::Module& out, const LowerOptions& o)
      : m_(m), out_(out), o_(o), b_(out.getContext()), arith_(b_, o.width, o.native_floor) {}

  llvm::Function* run();

 private:
  llvm::Function* declare();
  /// Lowers every live value; returns the output values.
  std::vector<llvm::Value*> emit_graph(llvm::Value* x_rows, llvm::Value* x_offset);
  /// Stores the outputs of all W rows.
  void emit_stores(const std::vector<llvm::Value*>& outputs, llvm::Value* y_rows, llvm::Value* y_offset);
  /// Stores the outputs of the first `rem` (< W) rows, through a stack copy of the lanes.
  void emit_last_stores(const std::vector<llvm::Value*>& outputs, llvm::Value* y_rows, llvm::Value* y_stride,
                        llvm::Value* rem, llvm::Value* scratch);
  /// Pointers to element `column` of each lane's row: rows + offset + column.
  llvm::Value* lane_pointers(llvm::Value* rows, llvm::Value* offset, uint64_t column) {
    llvm::Value* c = b_.getInt64(column);
    if (o_.width > 1) c = b_.CreateVectorSplat(o_.width, c);
    return b_.CreateInBoundsGEP(b_.getFloatTy(), rows, b_.CreateAdd(offset, c));
  }
  /// `v` in every lane.
  llvm::Value* splat(llvm::Value* v) { return o_.width == 1 ? v : b_.CreateVectorSplat(o_.width, v); }
  /// `op` applied to `x`, inline or through the op's helper function.
  llvm::Value* emit_unary(ir::Op op, llvm::Value* x);
  /// The helper function computing `op` (created on first use).
  llvm::Function* helper(ir::Op op);

  const ir::Module& m_;
  llvm::Module& out_;
  const LowerOptions& o_;
  llvm::IRBuilder<> b_;
  LlvmArith arith_;
  bool outline_ = false;
  llvm::Function* helpers_[ir::kNumOps] = {};
};

llvm::Function* KernelLowering::declare() {
  llvm::Type* ptr = b_.getPtrTy();
  llvm::Type* i64 = b_.getInt64Ty();
  auto* type = llvm::FunctionType::get(b_.getVoidTy(), {ptr, i64, i64, ptr, i64}, false);
  if (out_.getFunction(o_.symbol)) throw Error("kernel symbol '" + o_.symbol + "' is already defined");
  auto* fn = llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage, o_.symbol, out_);
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
  llvm::Function* fn = declare();
  llvm::LLVMContext& ctx = out_.getContext();
  if (o_.fast_math) {
    llvm::FastMathFlags fmf;
    fmf.setAllowReassoc();
    fmf.setAllowContract();
    b_.setFastMathFlags(fmf);
  }
  llvm::Value* x = fn->getArg(0);
  llvm::Value* n = fn->getArg(1);
  llvm::Value* xs = fn->getArg(2);
  llvm::Value* y = fn->getArg(3);
  llvm::Value* ys = fn->getArg(4);
  const unsigned width = o_.width;

  BasicBlock* entry = BasicBlock::Create(ctx, "entry", fn);
  BasicBlock* rows = BasicBlock::Create(ctx, "rows", fn);
  BasicBlock* store_all = BasicBlock::Create(ctx, "store.all", fn);
  BasicBlock* store_last = BasicBlock::Create(ctx, "store.last", fn);
  BasicBlock* next = BasicBlock::Create(ctx, "next", fn);
  BasicBlock* exit = BasicBlock::Create(ctx, "exit", fn);

  b_.SetInsertPoint(entry);
  llvm::Value* scratch = width > 1 && !m_.outputs.empty()
                             ? b_.CreateAlloca(llvm::ArrayType::get(b_.getFloatTy(), width * m_.outputs.size()),
                                               nullptr, "lanes")
                             : nullptr;
  b_.CreateCondBr(b_.CreateICmpSGT(n, b_.getInt64(0)), rows, exit);

  b_.SetInsertPoint(rows);
  llvm::PHINode* r = b_.CreatePHI(b_.getInt64Ty(), 2, "r");
  r->addIncoming(b_.getInt64(0), entry);
  llvm::Value* rem = b_.CreateSub(n, r, "rem");
  llvm::Value* x_rows = b_.CreateInBoundsGEP(b_.getFloatTy(), x, b_.CreateMul(r, xs), "x.rows");
  llvm::Value* y_rows = b_.CreateInBoundsGEP(b_.getFloatTy(), y, b_.CreateMul(r, ys), "y.rows");
  // row[l] = min(l, rem - 1): lanes past the last row repeat it.
  llvm::Value* row = b_.getInt64(0);
  if (width > 1) {
    std::vector<uint64_t> lane_numbers(width);
    for (unsigned l = 0; l < width; ++l) lane_numbers[l] = l;
    row = b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, llvm::ConstantDataVector::get(ctx, lane_numbers),
                                   splat(b_.CreateSub(rem, b_.getInt64(1))), nullptr, "row");
  }
  llvm::Value* x_offset = b_.CreateMul(row, splat(xs), "x.offset");
  llvm::Value* y_offset = b_.CreateMul(row, splat(ys), "y.offset");
  const std::vector<llvm::Value*> outputs = emit_graph(x_rows, x_offset);
  if (width > 1)
    b_.CreateCondBr(b_.CreateICmpSGE(rem, b_.getInt64(width), "full"), store_all, store_last);
  else
    b_.CreateBr(store_all);

  b_.SetInsertPoint(store_all);
  emit_stores(outputs, y_rows, y_offset);
  b_.CreateBr(next);

  b_.SetInsertPoint(store_last);
  if (scratch) emit_last_stores(outputs, y_rows, ys, rem, scratch);
  b_.CreateBr(exit);

  b_.SetInsertPoint(next);
  llvm::Value* r_next = b_.CreateAdd(r, b_.getInt64(width), "r.next");
  r->addIncoming(r_next, next);
  b_.CreateCondBr(b_.CreateICmpSLT(r_next, n), rows, exit);

  b_.SetInsertPoint(exit);
  b_.CreateRetVoid();
  if (width == 1) store_last->eraseFromParent();
  return fn;
}

std::vector<llvm::Value*> KernelLowering::emit_graph(llvm::Value* x_rows, llvm::Value* x_offset) {
  const std::vector<bool> live = live_values(m_);
  std::size_t transcendentals = 0;
  for (std::size_t id = 0; id < m_.values.size(); ++id) transcendentals += live[id] && is_transcendental(m_.values[id].op);
  outline_ = transcendentals >= kOutlineThreshold;
  std::vector<llvm::Value*> value(m_.values.size(), nullptr);
  LlvmArith& a = arith_;
  for (std::size_t id = 0; id < m_.values.size(); ++id) {
    if (!live[id]) continue;
    const ir::Value& v = m_.values[id];
    auto arg = [&](std::size_t i) { return value[v.args[i]]; };
    switch (v.op) {
      case ir::Op::Input: {
        llvm::Value* p = lane_pointers(x_rows, x_offset, id);
        if (o_.width == 1)
          value[id] = b_.CreateLoad(b_.getFloatTy(), p);
        else
          value[id] = b_.CreateMaskedGather(a.float_type(), p, llvm::Align(4));
        break;
      }
      case ir::Op::Const: value[id] = a.c(ir::const_value(v)); break;
      case ir::Op::Affine: value[id] = ir::scalar::affine(a, arg(0), ir::affine_scale(v), ir::affine_shift(v)); break;
      case ir::Op::Dot: value[id] = ir::scalar::dot(a, v.args.size(), arg, v.imms.data(), ir::dot_bias(v)); break;
      default:
        value[id] = ir::is_binary(v.op) ? ir::scalar::binary(a, v.op, arg(0), arg(1)) : emit_unary(v.op, arg(0));
    }
  }
  std::vector<llvm::Value*> outputs;
  for (ir::ValueId out : m_.outputs) outputs.push_back(value[out]);
  return outputs;
}

llvm::Value* KernelLowering::emit_unary(ir::Op op, llvm::Value* x) {
  if (!outline_ || !is_transcendental(op)) return ir::scalar::unary(arith_, op, x);
  llvm::Function* fn = helper(op);
  llvm::CallInst* call = b_.CreateCall(fn, {x});
  call->setCallingConv(fn->getCallingConv());
  return call;
}

// The helper is internal and never inlined. On x86-64 and AArch64 it preserves every register
// it does not return in (preserve_all), so that the kernel keeps its live values in registers
// across the call.
llvm::Function* KernelLowering::helper(ir::Op op) {
  llvm::Function*& fn = helpers_[static_cast<int>(op)];
  if (fn) return fn;
  llvm::Function* kernel = b_.GetInsertBlock()->getParent();
  llvm::Type* t = arith_.float_type();
  fn = llvm::Function::Create(llvm::FunctionType::get(t, {t}, false), llvm::GlobalValue::InternalLinkage,
                              o_.symbol + "." + std::string(ir::op_name(op)), out_);
  const llvm::Triple triple(out_.getTargetTriple());
  if (triple.getArch() == llvm::Triple::x86_64 || triple.isAArch64()) fn->setCallingConv(llvm::CallingConv::PreserveAll);
  for (const char* attribute : {"no-builtins", "min-legal-vector-width"})
    fn->addFnAttr(kernel->getFnAttribute(attribute));
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  fn->addFnAttr(llvm::Attribute::NoInline);
  fn->setDoesNotAccessMemory();
  fn->addFnAttr(llvm::Attribute::WillReturn);
  llvm::IRBuilder<> body(llvm::BasicBlock::Create(out_.getContext(), "entry", fn));
  body.setFastMathFlags(b_.getFastMathFlags());
  LlvmArith arith(body, o_.width, o_.native_floor);
  body.CreateRet(ir::scalar::unary(arith, op, fn->getArg(0)));
  return fn;
}

void KernelLowering::emit_stores(const std::vector<llvm::Value*>& outputs, llvm::Value* y_rows,
                                 llvm::Value* y_offset) {
  for (std::size_t o = 0; o < outputs.size(); ++o) {
    llvm::Value* p = lane_pointers(y_rows, y_offset, o);
    if (o_.width == 1)
      b_.CreateStore(outputs[o], p);
    else
      b_.CreateMaskedScatter(outputs[o], p, llvm::Align(4));
  }
}

// scratch[o*W + l] = lane l of output o; then y_rows[l*y_stride + o] = scratch[o*W + l] for the
// rem * n_out (row, output) pairs, in a plain loop (cheaper than a masked scatter per output).
void KernelLowering::emit_last_stores(const std::vector<llvm::Value*>& outputs, llvm::Value* y_rows,
                                      llvm::Value* y_stride, llvm::Value* rem, llvm::Value* scratch) {
  const uint64_t width = o_.width, n_out = outputs.size();
  for (std::size_t o = 0; o < n_out; ++o)
    b_.CreateAlignedStore(outputs[o], b_.CreateConstInBoundsGEP1_64(b_.getFloatTy(), scratch, o * width),
                          llvm::Align(4));
  emit_loop(b_, b_.CreateMul(rem, b_.getInt64(n_out)), [&](llvm::Value* k) {
    llvm::Value* lane = b_.CreateUDiv(k, b_.getInt64(n_out));
    llvm::Value* o = b_.CreateURem(k, b_.getInt64(n_out));
    llvm::Value* from = b_.CreateInBoundsGEP(b_.getFloatTy(), scratch, b_.CreateAdd(b_.CreateMul(o, b_.getInt64(width)), lane));
    llvm::Value* to = b_.CreateInBoundsGEP(b_.getFloatTy(), y_rows, b_.CreateAdd(b_.CreateMul(lane, y_stride), o));
    b_.CreateStore(b_.CreateLoad(b_.getFloatTy(), from), to);
  });
}

}  // namespace

llvm::Function* lower_kernel(const ir::Module& m, llvm::Module& out, const LowerOptions& options) {
  return KernelLowering(m, out, options).run();
}

}  // namespace evoc::codegen
