module attributes {test.slice = #llm.slice<dim = 0, size = 1, axis = "tp", offsets = [0], full = []>} {}
