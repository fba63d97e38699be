module {
  llm.weight @g : tensor<4x8xbf16>
  llm.weight @d : tensor<8x4xbf16>
  func.func @owners_size(%x: tensor<1x?x8xbf16>, %w: tensor<1x?x1xf32>, %i: tensor<1x?x1xi64>) {
    %g = llm.param @g : tensor<4x8xbf16>
    %d = llm.param @d : tensor<8x4xbf16>
    %e = llm.experts %x, %w, %i experts 2 owners("ep") [0, 1, 1] gate(%g, %g) up(%g, %g) down(%d, %d) : tensor<1x?x8xbf16>, tensor<1x?x1xf32>, tensor<1x?x1xi64> gate(tensor<4x8xbf16>, tensor<4x8xbf16>) up(tensor<4x8xbf16>, tensor<4x8xbf16>) down(tensor<8x4xbf16>, tensor<8x4xbf16>) -> tensor<1x?x8xbf16>
    return
  }
}
