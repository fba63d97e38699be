llm.weight @w : tensor<16x64xf8E4M3FN> scale @s owner #llm.owner<axis = "ep", coord = 1>
llm.weight @s : tensor<16x1xf32>
