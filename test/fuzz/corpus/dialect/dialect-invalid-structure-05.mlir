llm.weight @w : tensor<4xf32>
llm.weight @w : tensor<8xf32>
