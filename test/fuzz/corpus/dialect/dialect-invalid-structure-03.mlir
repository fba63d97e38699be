llm.weight @o : tensor<2048x1024xbf16> slice <dim = 1, size = 1024, axis = "tp", offsets = [0, 1024, 2048, 3072], full = [4096, 4096]>
