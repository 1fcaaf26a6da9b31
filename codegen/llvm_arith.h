// The LLVM arithmetic backend of ir/scalar.h: each operation of the scalar semantics becomes
// one IEEE-exact LLVM instruction over `<W x float>` (or plain `float` when W is 1), so that
// compiled kernels execute the interpreter's exact sequence of roundings, lane by lane.
// Private to codegen/.
#pragma once

#include <cstdint>
#include <functional>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>

namespace evoc::codegen {

/// Emits the operations of ir/scalar.h with an IRBuilder. V and M are vectors of f32 / i1,
/// I of i32, all with `width` lanes (scalars when the width is 1).
class LlvmArith {
 public:
  using V = llvm::Value*;
  using M = llvm::Value*;
  using I = llvm::Value*;

  /// `native_floor`: the target rounds down in one instruction (otherwise llvm.floor would
  /// become a call to libm's floorf, and floor is expanded into exact integer arithmetic).
  LlvmArith(llvm::IRBuilder<>& b, unsigned width, bool native_floor)
      : b_(b),
        f32_(vector_of(b.getFloatTy(), width)),
        i32_(vector_of(b.getInt32Ty(), width)),
        native_floor_(native_floor) {}

  llvm::Type* float_type() const { return f32_; }

  /// A constant: an immediate, or what the constant source gives (see set_constant_source).
  V c(float v) const { return source_ ? source_(v) : llvm::ConstantFP::get(f32_, v); }
  /// Makes c() emit `source(v)` (a load from a table of constants) instead of immediates.
  void set_constant_source(std::function<V(float)> source) { source_ = std::move(source); }
  I ci(int32_t v) const { return llvm::ConstantInt::get(i32_, static_cast<uint64_t>(static_cast<uint32_t>(v))); }
  V add(V a, V c) const { return b_.CreateFAdd(a, c); }
  V sub(V a, V c) const { return b_.CreateFSub(a, c); }
  V mul(V a, V c) const { return b_.CreateFMul(a, c); }
  V div(V a, V c) const { return b_.CreateFDiv(a, c); }
  V neg(V a) const { return b_.CreateFNeg(a); }
  V fabs(V a) const { return intrinsic(llvm::Intrinsic::fabs, a); }
  V sqrt(V a) const { return intrinsic(llvm::Intrinsic::sqrt, a); }
  V floor(V a) const { return native_floor_ ? intrinsic(llvm::Intrinsic::floor, a) : exact_floor(a); }
  M lt(V a, V c) const { return b_.CreateFCmpOLT(a, c); }
  M gt(V a, V c) const { return b_.CreateFCmpOGT(a, c); }
  M eq(V a, V c) const { return b_.CreateFCmpOEQ(a, c); }
  M is_nan(V a) const { return b_.CreateFCmpUNO(a, a); }
  M or_(M a, M c) const { return b_.CreateOr(a, c); }
  M and_(M a, M c) const { return b_.CreateAnd(a, c); }
  V select(M m, V a, V c) const { return b_.CreateSelect(m, a, c); }
  I bits(V a) const { return b_.CreateBitCast(a, i32_); }
  V from_bits(I a) const { return b_.CreateBitCast(a, f32_); }
  I iadd(I a, I c) const { return b_.CreateAdd(a, c); }
  I isub(I a, I c) const { return b_.CreateSub(a, c); }
  I iand(I a, I c) const { return b_.CreateAnd(a, c); }
  I ior(I a, I c) const { return b_.CreateOr(a, c); }
  I ishl(I a, int s) const { return b_.CreateShl(a, ci(s)); }
  I isra(I a, int s) const { return b_.CreateAShr(a, ci(s)); }
  I ftoi(V a) const { return b_.CreateFPToSI(a, i32_); }
  V itof(I a) const { return b_.CreateSIToFP(a, f32_); }

 private:
  std::function<V(float)> source_;
  static llvm::Type* vector_of(llvm::Type* t, unsigned width) {
    return width == 1 ? t : llvm::FixedVectorType::get(t, width);
  }
  V intrinsic(llvm::Intrinsic::ID id, V a) const { return b_.CreateUnaryIntrinsic(id, a); }
  /// floor(a) for every float: |a| >= 2^23, infinities and NaN are their own floor; below that,
  /// truncate through i32, step down where that rounded up, and keep the sign of a (-0 stays -0).
  V exact_floor(V a) const {
    M small = lt(fabs(a), c(8388608.0f));
    V in_range = select(small, a, c(0.0f));
    V t = itof(ftoi(in_range));
    t = select(gt(t, in_range), sub(t, c(1.0f)), t);
    return select(small, b_.CreateBinaryIntrinsic(llvm::Intrinsic::copysign, t, a), a);
  }

  llvm::IRBuilder<>& b_;
  llvm::Type* f32_;
  llvm::Type* i32_;
  bool native_floor_;
};

}  // namespace evoc::codegen
