//===- EmitCLowering.h - llm-lower-to-emitc's lowering state -----*- C++ -*-===//
//
// Private to passes/lowering: the class behind llm-lower-to-emitc, split
// over LowerToEmitC.cpp (emitc building blocks, program structure: stages,
// transfers, micro-batches, and the pass) and LowerOps.cpp (values, buffers
// and one lowering per op).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PASSES_LOWERING_EMITCLOWERING_H
#define LLMC_PASSES_LOWERING_EMITCLOWERING_H

#include "llmc/Passes/Grid.h"
#include "passes/lowering/Buffers.h"

#include "llmc/Dialect/Dist/DistDialect.h"
#include "llmc/Dialect/Llm/LlmDialect.h"

#include "mlir/Dialect/EmitC/IR/EmitC.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/FormatVariadic.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace llmc::lowering {

using namespace mlir;

//===----------------------------------------------------------------------===//
// C++ spellings
//===----------------------------------------------------------------------===//

/// A float as a C++ float literal that reads well (`8.0f`, `1e-05f`).
inline std::string floatLiteral(double value) {
  if (value == static_cast<double>(static_cast<int64_t>(value)) &&
      std::abs(value) < 1e15)
    return std::to_string(static_cast<int64_t>(value)) + ".0f";
  std::string text = llvm::formatv("{0:g}", value).str();
  if (text.find_first_of(".e") == std::string::npos)
    text += ".0";
  return text + "f";
}

/// A value of runtime struct `type` with its members set by name, as a C++17
/// expression (an immediately invoked lambda assigning member by member):
/// renaming or reordering the struct's members in runtime/abi/Ops.h then
/// breaks the generated code's build instead of silently shifting values.
inline std::string
namedInit(llvm::StringRef type,
          llvm::ArrayRef<std::pair<llvm::StringRef, std::string>> members) {
  std::string text = ("[] { " + type + " p; ").str();
  for (const auto &[name, value] : members)
    text += ("p." + name + " = " + value + "; ").str();
  return text + "return p; }()";
}

/// The runtime types as emitc types.
struct RtTypes {
  explicit RtTypes(MLIRContext *ctx) {
    auto opaque = [&](StringRef name) {
      return emitc::OpaqueType::get(ctx, name);
    };
    rank = opaque("llmc::rt::Rank &");
    stepRef = opaque("const llmc::rt::Step &");
    step = opaque("llmc::rt::Step");
    act = opaque("llmc::rt::Act");
    weight = opaque("llmc::rt::Weight");
    attention = opaque("llmc::rt::AttentionParams");
    rope = opaque("llmc::rt::RopeParams");
    i1 = IntegerType::get(ctx, 1);
    i32 = IntegerType::get(ctx, 32);
    i64 = IntegerType::get(ctx, 64);
    f32Ptr = emitc::PointerType::get(Float32Type::get(ctx));
    i64Ptr = emitc::PointerType::get(i64);
    idsPtr = emitc::PointerType::get(opaque("const int64_t"));
    voidPtr = emitc::PointerType::get(opaque("void"));
  }
  Type rank, stepRef, step, act, weight, attention, rope;
  Type i1, i32, i64, f32Ptr, i64Ptr, idsPtr, voidPtr;
};

/// One argument of a runtime call: an SSA value or a literal attribute.
struct Arg {
  Arg(Value value) : value(value) {}
  Arg(Attribute attr) : attr(attr) {}
  Value value;
  Attribute attr;
};

/// Which function result a value of the per-rank program is.
enum class Output { Logits, Next };

//===----------------------------------------------------------------------===//
// Scopes of the generated code
//===----------------------------------------------------------------------===//

/// The step a piece of generated code runs: the whole call, or one
/// micro-batch of it.
struct StepValues {
  Value step;   ///< passed where Ops.h takes `const Step &`
  Value batch;  ///< i64 sequences
  Value seq;    ///< i64 positions per sequence
  Value tokens; ///< i64 batch * seq, the rows of most activations
  Value logits; ///< float * for this step's rows
  Value next;   ///< int64_t * for this step's rows
};

/// A straight-line block of generated code (the forward body or one
/// pipeline stage) and the buffers its values occupy.
struct ComputeScope {
  ComputeScope(StepValues &step, int64_t stage) : step(step), stage(stage) {}
  StepValues &step;
  int64_t stage;
  BufferPool pool;
  ArenaUse arena;
  /// rms_norm ops by canonical input, to fuse them into a preceding add.
  DenseMap<Value, SmallVector<llm::RMSNormOp>> norms;
  /// Norms already emitted as part of an addRmsNorm.
  DenseSet<Operation *> fused;
  /// All-reduces and bias adds a linearAllReduce already did: they only
  /// hand their input's buffer on to their result.
  DenseSet<Operation *> folded;
  /// llm.quantize results: the Act of their codes with the per-row scales
  /// attached (llmc::rt::fp8Input), which FP8 linears take as input.
  DenseMap<Value, Value> fp8Inputs;
  /// Rows of routed tokens (factor -> tokens * factor), made on first use.
  DenseMap<int64_t, Value> routedRows;
  int64_t routedFactor = 1;
  Value logitsAct;
};

//===----------------------------------------------------------------------===//
// The lowering
//===----------------------------------------------------------------------===//

class Lowering {
public:
  /// `fp32Reduce`: lower a row-parallel linear and its all-reduce to one
  /// linearAllReduce (fp32 partial sums); otherwise linear + allReduce on
  /// bf16 partials. `qkvViews`: q|k|v read only by attention are column
  /// views of one buffer (lowerLinearSiblings).
  /// `residualF32`: the residual stream in fp32 buffers (findWideResidual).
  Lowering(ModuleOp module, GridInfo grid, StringRef target, bool fp32Reduce,
           bool qkvViews, bool residualF32)
      : module(module), ctx(module.getContext()), types(ctx), b(ctx),
        grid(std::move(grid)), target(target), fp32Reduce(fp32Reduce),
        qkvViews(qkvViews), residualF32(residualF32) {}

  /// Builds the emitc module in place of the per-rank program.
  LogicalResult run();

private:
  // --- emitc building blocks ------------------------------------------------
  Value call(StringRef callee, Type result, ArrayRef<Arg> args,
             ArrayRef<Attribute> templateArgs = {});
  void callVoid(StringRef callee, ArrayRef<Arg> args,
                ArrayRef<Attribute> templateArgs = {}) {
    call(callee, Type(), args, templateArgs);
  }
  Attribute i32(int64_t v) { return b.getI32IntegerAttr(v); }
  Attribute i64(int64_t v) { return b.getI64IntegerAttr(v); }
  Attribute boolean(bool v) { return b.getBoolAttr(v); }
  Attribute opaque(StringRef text) { return emitc::OpaqueAttr::get(ctx, text); }
  Value literal(int64_t v) {
    return emitc::LiteralOp::create(b, loc, types.i64, std::to_string(v));
  }
  Value variable(Type type) {
    return emitc::VariableOp::create(b, loc, emitc::LValueType::get(type),
                                     emitc::OpaqueAttr::get(ctx, ""));
  }
  Value member(Value lvalue, StringRef name, Type type) {
    return emitc::MemberOp::create(b, loc, emitc::LValueType::get(type), name,
                                   lvalue);
  }
  Value load(Value lvalue) {
    auto type = cast<emitc::LValueType>(lvalue.getType()).getValueType();
    return emitc::LoadOp::create(b, loc, type, lvalue);
  }
  Value addressOf(Value lvalue) {
    auto type = cast<emitc::LValueType>(lvalue.getType()).getValueType();
    return emitc::AddressOfOp::create(b, loc, emitc::PointerType::get(type),
                                      lvalue);
  }
  void assign(Value lvalue, Value value) {
    emitc::AssignOp::create(b, loc, lvalue, value);
  }
  Value mul(Value a, Value c) {
    return emitc::MulOp::create(b, loc, a.getType(), a, c);
  }
  Value add(Value a, Value c, Type type = {}) {
    return emitc::AddOp::create(b, loc, type ? type : a.getType(), a, c);
  }
  Value cmp(emitc::CmpPredicate pred, Value a, Value c) {
    return emitc::CmpOp::create(b, loc, types.i1, pred, a, c);
  }
  void comment(const Twine &text) {
    emitc::VerbatimOp::create(b, loc, b.getStringAttr("// " + text));
  }
  /// `std::invoke(&llmc::rt::Rank::coord, r, axis)`, once per axis: emitc
  /// has no member-function call, and a pointer to member keeps it an
  /// ordinary call_opaque.
  Value coord(int64_t axis);
  /// `if (coord(axis) == value) { ... }`.
  emitc::IfOp ifCoord(int64_t axis, int64_t value);

  // --- structure -------------------------------------------------------------
  LogicalResult lowerForward(func::FuncOp forward);
  LogicalResult lowerPipeline(dist::PipelineOp pipeline, StepValues &whole);
  LogicalResult lowerPipelineBody(Block &body, StepValues &step);
  LogicalResult lowerStage(dist::StageOp stage, StepValues &step,
                           DenseMap<Value, Value> &crossing);
  LogicalResult lowerTransfer(dist::TransferOp transfer, StepValues &step,
                              DenseMap<Value, Value> &crossing);
  /// Lowers a straight-line block (forward body or stage body).
  LogicalResult lowerCompute(Block &block, ComputeScope &scope);
  void analyse(Block &block, ComputeScope &scope);
  LogicalResult emitBlock(Block &block, ComputeScope &scope);
  LogicalResult emitOp(Operation *op, ComputeScope &scope);

  // --- values ----------------------------------------------------------------
  /// Resolves decoder-layer block arguments and results to what they alias.
  Value canonical(Value v) const;
  SmallVector<Value> canonicalOperands(Operation *op) const;
  /// Whether `v` is the @forward result `which`.
  bool isOutput(Value v, Output which) const {
    auto it = outputs.find(canonical(v));
    return it != outputs.end() && it->second == which;
  }
  /// The Act holding `v` (its canonical value's buffer).
  FailureOr<Value> act(Value v, ComputeScope &scope, Operation *user);
  /// `llmc::rt::weight(r, i)` for an llm.param value.
  FailureOr<Value> weight(Value v, Operation *user);
  FailureOr<int64_t> weightIndex(Value v, Operation *user);
  FailureOr<BufferKey> keyFor(Value v, ComputeScope &scope, Operation *user);
  Value rows(const BufferKey &key, ComputeScope &scope);
  /// A buffer for result `v`: from the pool, or a new arena allocation.
  FailureOr<Value> result(Value v, ComputeScope &scope, Operation *op,
                          std::optional<BufferKey> key = std::nullopt);
  Value allocate(const BufferKey &key, ComputeScope &scope);
  /// The Act over the `logits` output for the scope's step.
  Value logitsAct(ComputeScope &scope, int64_t vocab);
  /// `to` reuses `from`'s buffer (the runtime updates it in place).
  LogicalResult inPlace(Value from, Value to, ComputeScope &scope,
                        Operation *op);
  Value ropeParams(llm::RopeAttr rope);
  void addArena(int64_t stage, const ArenaUse &use) {
    ArenaUse &total = arena[stage];
    total.bytesPerToken += use.bytesPerToken;
    total.bytesPerSequence += use.bytesPerSequence;
    total.buffers += use.buffers;
  }
  /// A static table of ints (or bools) as a global array.
  Value table(StringRef name, ArrayRef<int64_t> values, bool asBool = false);

  // --- ops -------------------------------------------------------------------
  LogicalResult lowerAdd(llm::AddOp op, ComputeScope &scope);
  /// The first rms_norm of `op`'s sum after it (to fuse into the add).
  llm::RMSNormOp laterNorm(llm::AddOp op, ComputeScope &scope);
  /// W8A8: `norm`, whose only readers are the fused token_scale `ts` and
  /// quantize `q`, as one rmsNormQuantize (operands: rank, input, weight)
  /// or addRmsNormQuantize (rank, residual, delta, weight) call writing
  /// q's codes and ts's scales; both are then folded.
  LogicalResult quantizedNorm(llm::RMSNormOp norm, llm::TokenScaleOp ts,
                              llm::QuantizeOp q, SmallVector<Arg, 6> operands,
                              ComputeScope &scope);
  /// An add of the fp32 residual stream (its result in `wide`).
  LogicalResult lowerWideAdd(llm::AddOp op, ComputeScope &scope);
  /// With residualF32: fills `wide` with the residual stream's sums (the
  /// adds chained from the embedding, through last_token) and `streamRoots`
  /// with where it starts (the embedding, after its vocab-parallel
  /// all-reduce); leaves both empty where the plan has pipeline stages or
  /// another op reads a sum (they then stay bf16).
  void findWideResidual(func::FuncOp forward);
  bool isWide(Value v) const { return wide.contains(canonical(v)); }
  /// The sum all-reduce over one grid axis that is the only use of `op`'s
  /// result, when the pair lowers to linearAllReduce; null otherwise.
  shard::AllReduceOp reductionOf(llm::LinearOp op) const;
  LogicalResult lowerLinearAllReduce(llm::LinearOp op,
                                     shard::AllReduceOp reduce,
                                     ComputeScope &scope);
  /// Sibling projections of one input lowered together where `op` is the
  /// first of them: gate and up feeding only a SwiGLU to linearSwiglu, two
  /// or three other linears of the same input (q, k, v) to linear2/3.
  /// Returns false, emitting nothing, when `op` has no such siblings.
  FailureOr<bool> lowerLinearSiblings(llm::LinearOp op, ComputeScope &scope);
  /// `count` distinct buffers of class `key` for one call's scratch, taken
  /// from the pool (or allocated) and put back at once (linearAllReduce's
  /// fp32 partial sums, linearSwiglu's GEMM outputs).
  SmallVector<Value, 2> callScratch(const BufferKey &key, int count,
                                    ComputeScope &scope);
  /// `&weight` of a linear's bias as a call argument, or `nullptr`.
  FailureOr<Arg> biasArg(Value bias, Operation *op);
  LogicalResult lowerAttention(llm::AttentionOp op, ComputeScope &scope);
  /// The attention that `rope` folds into: its only use is the q or k of a
  /// causal attention whose q and k are both such ropes (same parameters,
  /// head dim and positions, no other uses). That pair lowers to one
  /// ropeAttention call; null otherwise.
  llm::AttentionOp ropeConsumer(llm::RopeOp rope) const;
  /// After the function: `#include`s of the kernel headers the calls need
  /// and their explicit instantiations for this model's shapes.
  void emitKernelInstances();
  LogicalResult lowerExperts(llm::ExpertsOp op, ComputeScope &scope);
  LogicalResult lowerAllGather(shard::AllGatherOp op, ComputeScope &scope);
  LogicalResult lowerDispatch(dist::ExpertDispatchOp op, ComputeScope &scope);

  ModuleOp module;
  MLIRContext *ctx;
  RtTypes types;
  OpBuilder b;
  Location loc = UnknownLoc::get(ctx);
  GridInfo grid;
  std::string target;
  bool fp32Reduce;
  bool qkvViews;
  bool residualF32;
  /// Canonical values held in fp32 buffers, and the bf16 values the fp32
  /// stream starts from (findWideResidual).
  DenseSet<Value> wide, streamRoots;

  emitc::FuncOp function;
  Value rank;
  /// The call's Step as an lvalue, to read its fields.
  Value stepLvalue;
  /// Where values shared by the whole function (coordinates, constant
  /// parameters) are inserted: after the prologue, before any scope.
  Operation *prologueEnd = nullptr;
  DenseMap<int64_t, Value> coords;
  DenseMap<Attribute, Value> ropes;
  DenseMap<StringRef, int64_t> weightIndices;
  DenseMap<Value, Value> aliases;
  DenseMap<Value, Output> outputs;
  std::map<int64_t, ArenaUse> arena;
  Operation *globalsEnd = nullptr;
  /// The last `#include` of the prologue.
  Operation *includesEnd = nullptr;
  /// Template instances the calls use: (head_dim, group) of attention and
  /// ropeAttention, head_dim of rope.
  std::set<std::pair<int64_t, int64_t>> attentionInstances,
      ropeAttentionInstances;
  std::set<int64_t> ropeInstances;
  /// The KV cache is FP8: Attention.cuh then compiles only its FP8 cache
  /// kernels (LLMC_KV_CACHE_FP8).
  bool kvCacheFp8 = false;
  int64_t tables = 0;
  std::map<std::pair<std::string, std::vector<int64_t>>, std::string>
      tableSymbols;
};

/// The llm.quantize that consumes `t`'s input with `t`'s own scales and is
/// the first reader of those scales, or null: the pair lowers to one
/// `quantizeTokens` call (under tp a max all-reduce of the scales sits
/// between them, and nothing is fused).
llm::QuantizeOp fusedQuantize(llm::TokenScaleOp t);

/// The token_scale and quantize (a fusedQuantize pair, in h's block) that
/// are the only readers of `h`, or nulls: h's producer can write the codes
/// and scales itself (linearSwigluQuantize, rmsNormQuantize).
std::pair<llm::TokenScaleOp, llm::QuantizeOp> quantizedOnly(Value h);

} // namespace llmc::lowering

#endif // LLMC_PASSES_LOWERING_EMITCLOWERING_H
