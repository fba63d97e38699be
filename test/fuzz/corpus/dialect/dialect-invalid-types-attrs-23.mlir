module attributes {test.slice = #llm.slice<dim = 0, size = 2, axis = "", offsets = [0, 2], full = [4]>} {}
