llm.weight @w : tensor<16x64xf8E4M3FN> scale @s
llm.weight @s : tensor<16x1xbf16>
