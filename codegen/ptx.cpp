// NVPTX lowering (see ptx.h).
#include "codegen/ptx.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/IntrinsicsNVPTX.h>

#include "codegen/graph_emitter.h"
#include "ir/error.h"
#include "ir/scalar.h"

namespace evoc::codegen {
namespace {

/// CUDA's global memory: loads and stores through it skip the generic-address check.
constexpr unsigned kGlobalAddressSpace = 1;

llvm::Value* special_register(llvm::IRBuilder<>& b, llvm::Intrinsic::ID id) {
  return b.CreateZExt(b.CreateIntrinsic(id, {}, {}), b.getInt64Ty());
}

}  // namespace

llvm::Function* lower_ptx_kernel(const ir::Module& m, llvm::Module& out, const std::string& symbol) {
  llvm::LLVMContext& ctx = out.getContext();
  llvm::IRBuilder<> b(ctx);
  llvm::Type* ptr = b.getPtrTy();
  llvm::Type* i64 = b.getInt64Ty();
  llvm::Type* f32 = b.getFloatTy();
  if (out.getFunction(symbol)) throw Error("kernel symbol '" + symbol + "' is already defined");
  auto* fn = llvm::Function::Create(llvm::FunctionType::get(b.getVoidTy(), {ptr, i64, i64, ptr, i64}, false),
                                    llvm::GlobalValue::ExternalLinkage, symbol, out);
  fn->setCallingConv(llvm::CallingConv::PTX_Kernel);
  const char* names[] = {"x", "n", "x_stride", "y", "y_stride"};
  for (unsigned i = 0; i < 5; ++i) fn->getArg(i)->setName(names[i]);
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  fn->addParamAttr(0, llvm::Attribute::ReadOnly);
  fn->addParamAttr(0, llvm::Attribute::NoAlias);
  fn->addParamAttr(3, llvm::Attribute::NoAlias);
  fn->addParamAttr(3, llvm::Attribute::WriteOnly);
  // Marks the function a kernel for LLVM versions that look for the annotation rather than the
  // calling convention.
  llvm::NamedMDNode* annotations = out.getOrInsertNamedMetadata("nvvm.annotations");
  llvm::Metadata* kernel[] = {llvm::ValueAsMetadata::get(fn), llvm::MDString::get(ctx, "kernel"),
                              llvm::ConstantAsMetadata::get(b.getInt32(1))};
  annotations->addOperand(llvm::MDNode::get(ctx, kernel));

  llvm::Value* n = fn->getArg(1);
  llvm::BasicBlock* entry = llvm::BasicBlock::Create(ctx, "entry", fn);
  llvm::BasicBlock* row = llvm::BasicBlock::Create(ctx, "row", fn);
  llvm::BasicBlock* exit = llvm::BasicBlock::Create(ctx, "exit", fn);
  b.SetInsertPoint(entry);
  llvm::Type* global_ptr = llvm::PointerType::get(ctx, kGlobalAddressSpace);
  llvm::Value* x = b.CreateAddrSpaceCast(fn->getArg(0), global_ptr, "x.global");
  llvm::Value* y = b.CreateAddrSpaceCast(fn->getArg(3), global_ptr, "y.global");
  llvm::Value* threads = special_register(b, llvm::Intrinsic::nvvm_read_ptx_sreg_ntid_x);
  llvm::Value* first = b.CreateAdd(b.CreateMul(special_register(b, llvm::Intrinsic::nvvm_read_ptx_sreg_ctaid_x), threads),
                                   special_register(b, llvm::Intrinsic::nvvm_read_ptx_sreg_tid_x), "first");
  llvm::Value* step = b.CreateMul(threads, special_register(b, llvm::Intrinsic::nvvm_read_ptx_sreg_nctaid_x), "step");
  b.CreateCondBr(b.CreateICmpSLT(first, n), row, exit);

  b.SetInsertPoint(row);
  llvm::PHINode* r = b.CreatePHI(i64, 2, "r");
  r->addIncoming(first, entry);
  const std::vector<bool> live = live_values(m);
  llvm::Value* x_row = b.CreateInBoundsGEP(f32, x, b.CreateMul(r, fn->getArg(2)), "x.row");
  llvm::Value* y_row = b.CreateInBoundsGEP(f32, y, b.CreateMul(r, fn->getArg(4)), "y.row");
  std::vector<llvm::Value*> inputs(m.n_in(), nullptr);
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (live[i]) inputs[i] = b.CreateLoad(f32, b.CreateConstInBoundsGEP1_64(f32, x_row, i));
  const GraphShape shape{.width = 1, .native_floor = true, .stream_dots = false};
  const std::vector<llvm::Value*> outputs =
      emit_graph(b, m, live, shape, inputs,
                 [](LlvmArith& a, ir::Op op, llvm::Value* v) { return ir::scalar::unary(a, op, v); });
  for (std::size_t o = 0; o < outputs.size(); ++o)
    b.CreateStore(outputs[o], b.CreateConstInBoundsGEP1_64(f32, y_row, o));
  llvm::Value* next = b.CreateAdd(r, step, "r.next");
  r->addIncoming(next, b.GetInsertBlock());
  b.CreateCondBr(b.CreateICmpSLT(next, n), row, exit);
  b.SetInsertPoint(exit);
  b.CreateRetVoid();
  return fn;
}

}  // namespace evoc::codegen
