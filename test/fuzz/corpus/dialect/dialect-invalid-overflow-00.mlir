module attributes {test.slice = #llm.slice<dim = 0, size = 1, axis = "tp", offsets = [9223372036854775807], full = [4]>} {}
