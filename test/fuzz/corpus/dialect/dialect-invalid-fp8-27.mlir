llm.weight @w : tensor<16x64xf8E5M2>
