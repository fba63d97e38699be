func.func @experts_scale_count(%x: tensor<?x?x8xbf16>, %rw: tensor<?x?x1xf32>, %ri: tensor<?x?x1xi64>,
                               %g: tensor<4x8xf8E4M3FN>, %u: tensor<4x8xf8E4M3FN>, %d: tensor<8x4xf8E4M3FN>,
                               %gs: tensor<4x1xf32>, %ds: tensor<8x1xf32>) -> tensor<?x?x8xbf16> {
  %y = llm.experts %x, %rw, %ri experts 2 gate(%g, %g) up(%u, %u) down(%d, %d)
       scales(gate(%gs) up(%gs) down(%ds))
       : tensor<?x?x8xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64>
         gate(tensor<4x8xf8E4M3FN>, tensor<4x8xf8E4M3FN>) up(tensor<4x8xf8E4M3FN>, tensor<4x8xf8E4M3FN>)
         down(tensor<8x4xf8E4M3FN>, tensor<8x4xf8E4M3FN>)
         scales(gate(tensor<4x1xf32>) up(tensor<4x1xf32>) down(tensor<8x1xf32>))
         -> tensor<?x?x8xbf16>
  return %y : tensor<?x?x8xbf16>
}
