module attributes {test.slice = #llm.slice<dim = 1, size = 128, axis = "tp", offsets = [0], full = [4096, 64]>} {}
