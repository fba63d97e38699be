llm.weight @w : tensor<16x32xf8E4M3FN> scale @s slice #llm.slice<dim = 1, size = 32, axis = "tp", offsets = [0, 32], full = [16, 64]>
llm.weight @s : tensor<8x1xf32> slice #llm.slice<dim = 0, size = 8, axis = "tp", offsets = [0, 8], full = [16, 1]>
