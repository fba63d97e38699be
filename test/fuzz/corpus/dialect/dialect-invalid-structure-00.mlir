llm.weight @w : tensor<?x4096xbf16>
