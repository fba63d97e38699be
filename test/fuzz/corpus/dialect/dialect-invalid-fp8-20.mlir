func.func @experts_without_scales(%x: tensor<?x?x8xbf16>, %rw: tensor<?x?x1xf32>, %ri: tensor<?x?x1xi64>,
                                  %g: tensor<4x8xf8E4M3FN>, %u: tensor<4x8xbf16>, %d: tensor<8x4xbf16>) -> tensor<?x?x8xbf16> {
  %y = llm.experts %x, %rw, %ri experts 1 gate(%g) up(%u) down(%d)
       : tensor<?x?x8xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64>
         gate(tensor<4x8xf8E4M3FN>) up(tensor<4x8xbf16>) down(tensor<8x4xbf16>) -> tensor<?x?x8xbf16>
  return %y : tensor<?x?x8xbf16>
}
