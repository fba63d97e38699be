func.func @sample_seed_type(%l: tensor<?x1x256xbf16>, %seed: i32) -> tensor<?x1xi64> {
  %0 = llm.sample %l, %seed temperature 1.0 top_p 1.0 : (tensor<?x1x256xbf16>, i32) -> tensor<?x1xi64>
  return %0 : tensor<?x1xi64>
}
