llm.weight @w : tensor<16x64xf8E4M3FN> scale @w_scale
llm.weight @w_scale : tensor<16x1xf32>
llm.weight @t : tensor<16x64xf8E4M3FN> scale @t_scale
llm.weight @t_scale : tensor<1xf32>
func.func @w8a16(%x: tensor<?x?x64xbf16>, %b: tensor<16xbf16>) -> tensor<?x?x16xbf16> {
  %w = llm.param @w : tensor<16x64xf8E4M3FN>
  %s = llm.param @w_scale : tensor<16x1xf32>
  %y = llm.linear %x, %w bias %b scale %s : (tensor<?x?x64xbf16>, tensor<16x64xf8E4M3FN>, tensor<16xbf16>, tensor<16x1xf32>) -> tensor<?x?x16xbf16>
  return %y : tensor<?x?x16xbf16>
}
func.func @w8a8_dynamic(%x: tensor<?x?x64xbf16>) -> tensor<?x?x16xbf16> {
  %s = llm.token_scale %x : (tensor<?x?x64xbf16>) -> tensor<?x?x1xf32>
  %q = llm.quantize %x, %s : (tensor<?x?x64xbf16>, tensor<?x?x1xf32>) -> tensor<?x?x64xf8E4M3FN>
  %w = llm.param @w : tensor<16x64xf8E4M3FN>
  %ws = llm.param @w_scale : tensor<16x1xf32>
  %y = llm.linear %q, %w scale %ws input_scale %s : (tensor<?x?x64xf8E4M3FN>, tensor<16x64xf8E4M3FN>, tensor<16x1xf32>, tensor<?x?x1xf32>) -> tensor<?x?x16xbf16>
  return %y : tensor<?x?x16xbf16>
}
func.func @w8a8_static(%x: tensor<?x?x64xbf16>, %is: tensor<1xf32>) -> tensor<?x?x16xbf16> {
  %q = llm.quantize %x, %is : (tensor<?x?x64xbf16>, tensor<1xf32>) -> tensor<?x?x64xf8E4M3FN>
  %w = llm.param @t : tensor<16x64xf8E4M3FN>
  %ws = llm.param @t_scale : tensor<1xf32>
  %y = llm.linear %q, %w scale %ws input_scale %is : (tensor<?x?x64xf8E4M3FN>, tensor<16x64xf8E4M3FN>, tensor<1xf32>, tensor<1xf32>) -> tensor<?x?x16xbf16>
  return %y : tensor<?x?x16xbf16>
}
func.func @experts(%x: tensor<?x?x8xbf16>, %rw: tensor<?x?x1xf32>, %ri: tensor<?x?x1xi64>,
                   %g: tensor<4x8xf8E4M3FN>, %u: tensor<4x8xf8E4M3FN>, %d: tensor<8x4xf8E4M3FN>,
                   %gs: tensor<4x1xf32>, %ds: tensor<8x1xf32>, %ts: tensor<1xf32>) -> tensor<?x?x8xbf16> {
  %y = llm.experts %x, %rw, %ri experts 2 gate(%g, %g) up(%u, %u) down(%d, %d)
       scales(gate(%gs, %gs) up(%gs, %gs) down(%ds, %ts))
       : tensor<?x?x8xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64>
         gate(tensor<4x8xf8E4M3FN>, tensor<4x8xf8E4M3FN>) up(tensor<4x8xf8E4M3FN>, tensor<4x8xf8E4M3FN>)
         down(tensor<8x4xf8E4M3FN>, tensor<8x4xf8E4M3FN>)
         scales(gate(tensor<4x1xf32>, tensor<4x1xf32>) up(tensor<4x1xf32>, tensor<4x1xf32>) down(tensor<8x1xf32>, tensor<1xf32>))
         -> tensor<?x?x8xbf16>
  return %y : tensor<?x?x8xbf16>
}
func.func @shared_and_head(%x: tensor<?x?x8xbf16>, %g: tensor<4x8xf8E4M3FN>, %d: tensor<8x4xf8E4M3FN>,
                           %eg: tensor<1x8xbf16>, %gs: tensor<4x1xf32>, %ds: tensor<8x1xf32>,
                           %l: tensor<?x1x8xbf16>, %h: tensor<32x8xf8E4M3FN>, %hs: tensor<32x1xf32>)
    -> (tensor<?x?x8xbf16>, tensor<?x1x32xbf16>) {
  %y = llm.shared_expert %x, %g, %g, %d, %eg scales(%gs, %gs, %ds) : (tensor<?x?x8xbf16>, tensor<4x8xf8E4M3FN>, tensor<4x8xf8E4M3FN>, tensor<8x4xf8E4M3FN>, tensor<1x8xbf16>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<8x1xf32>) -> tensor<?x?x8xbf16>
  %z = llm.lm_head %l, %h scale %hs vocab_parallel : (tensor<?x1x8xbf16>, tensor<32x8xf8E4M3FN>, tensor<32x1xf32>) -> tensor<?x1x32xbf16>
  return %y, %z : tensor<?x?x8xbf16>, tensor<?x1x32xbf16>
}
func.func @fp8_cache(%c: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f8E4M3FN, scales = per_token_head>) {
  return
}
