llm.weight @w : tensor<16x64xbf16> scale @s
llm.weight @s : tensor<16x1xf32>
