module {
  llm.weight @router0 : tensor<2x64xbf16>
  llm.weight @gate0 : tensor<32x64xbf16>
  llm.weight @up0 : tensor<32x64xbf16>
  llm.weight @down0 : tensor<64x32xbf16>
  llm.weight @router1 : tensor<2x64xbf16>
  llm.weight @gate1 : tensor<32x64xbf16>
  llm.weight @up1 : tensor<32x64xbf16>
  llm.weight @down1 : tensor<64x32xbf16>
  func.func @forward(%h: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    %h0 = llm.decoder_layer 0 (%h) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %r = llm.param @router0 : tensor<2x64xbf16>
      %w, %i = llm.moe_router %x, %r experts 2 top_k 1 : (tensor<?x?x64xbf16>, tensor<2x64xbf16>) -> (tensor<?x?x1xf32>, tensor<?x?x1xi64>)
      %g = llm.param @gate0 : tensor<32x64xbf16>
      %u = llm.param @up0 : tensor<32x64xbf16>
      %d = llm.param @down0 : tensor<64x32xbf16>
      %e = llm.experts %x, %w, %i experts 2 gate(%g, %g) up(%u, %u) down(%d, %d) : tensor<?x?x64xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %e : tensor<?x?x64xbf16>
    }
    %h1 = llm.decoder_layer 1 (%h0) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %r = llm.param @router1 : tensor<2x64xbf16>
      %w, %i = llm.moe_router %x, %r experts 2 top_k 1 : (tensor<?x?x64xbf16>, tensor<2x64xbf16>) -> (tensor<?x?x1xf32>, tensor<?x?x1xi64>)
      %g = llm.param @gate1 : tensor<32x64xbf16>
      %u = llm.param @up1 : tensor<32x64xbf16>
      %d = llm.param @down1 : tensor<64x32xbf16>
      %e = llm.experts %x, %w, %i experts 2 gate(%g, %g) up(%u, %u) down(%d, %d) : tensor<?x?x64xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %e : tensor<?x?x64xbf16>
    }
    return %h1 : tensor<?x?x64xbf16>
  }
}
