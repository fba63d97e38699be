llm.weight @w : tensor<16x64xf8E4M3FN>
