llm.weight @w : tensor<64xf8E4M3FN> scale @s
llm.weight @s : tensor<1xf32>
