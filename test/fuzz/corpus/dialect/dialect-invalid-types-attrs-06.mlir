module attributes {test.rope = #llm.rope<theta = 0.0>} {}
