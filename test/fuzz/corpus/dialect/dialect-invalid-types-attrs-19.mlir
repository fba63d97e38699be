module attributes {test.slice = #llm.slice<dim = -1, size = 1, axis = "tp", offsets = [0], full = [4, 4]>} {}
