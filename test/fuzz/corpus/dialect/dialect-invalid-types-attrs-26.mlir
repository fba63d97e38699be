module attributes {test.slice = #llm.slice<dim = 1, size = 2, axis = "ep", offsets = [-2, 2], full = [3, 8]>} {}
