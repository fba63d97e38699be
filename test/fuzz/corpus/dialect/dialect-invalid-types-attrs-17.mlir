module attributes {test.rope = #llm.rope<theta = 10000.0, yarn>} {}
