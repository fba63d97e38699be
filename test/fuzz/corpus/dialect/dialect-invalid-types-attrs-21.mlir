module attributes {test.slice = #llm.slice<dim = 0, size = 0, axis = "tp", offsets = [0], full = [4096, 64]>} {}
