module attributes {test.rope = #llm.rope<theta = 10000.0, dynamic, factor = 2.0>} {}
