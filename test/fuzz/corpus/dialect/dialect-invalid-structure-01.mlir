llm.weight @q : tensor<1024x4096xbf16> slice <dim = 0, size = 1024, axis = "tp", offsets = [0, 1024], full = [2048]>
