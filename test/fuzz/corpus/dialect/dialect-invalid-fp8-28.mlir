llm.weight @w : tensor<8x64xf8E4M3FN> scale @s slice #llm.slice<dim = 0, size = 8, axis = "tp", offsets = [0, 8], full = [16, 64]>
llm.weight @s : tensor<16x1xf32>
