#include "runtime/compile.h"

#include "passes/pass_manager.h"

namespace evoc {

codegen::Artifact compile_model(ir::Module m, codegen::EmitKind kind, codegen::CodegenOptions options, int ir_opt) {
  options.model_hash = ir::content_hash(m);  // the model as given, as the header says
  if (kind != codegen::EmitKind::Header) {
    passes::PassOptions pass_options;
    pass_options.fast_math = options.fast_math;
    passes::optimize(m, static_cast<passes::OptLevel>(ir_opt), pass_options);
  }
  return codegen::emit_artifact(m, kind, options);
}

}  // namespace evoc
