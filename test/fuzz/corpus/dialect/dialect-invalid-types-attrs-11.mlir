module attributes {test.rope = #llm.rope<theta = 500000.0, llama3, factor = 8.0, low_freq_factor = 4.0, high_freq_factor = 1.0, original_max_position = 8192>} {}
