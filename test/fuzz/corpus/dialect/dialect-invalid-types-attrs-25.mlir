module attributes {test.slice = #llm.slice<dim = 0, size = 2, axis = "tp", offsets = [0, 3], full = [4]>} {}
