llm.weight @q : tensor<4096x4096xbf16> slice <dim = 0, size = 1024, axis = "tp", offsets = [0, 1024, 2048, 3072], full = [4096, 4096]>
