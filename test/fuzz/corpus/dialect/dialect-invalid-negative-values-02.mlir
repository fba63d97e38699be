func.func @negative_top_k(%l: tensor<?x1x256xbf16>, %seed: i64) -> tensor<?x1xi64> {
  %0 = llm.sample %l, %seed temperature 1.0 top_p 1.0 top_k -1 : (tensor<?x1x256xbf16>, i64) -> tensor<?x1xi64>
  return %0 : tensor<?x1xi64>
}
