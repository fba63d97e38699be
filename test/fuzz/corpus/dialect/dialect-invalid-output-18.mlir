func.func @sample_temperature_negative(%l: tensor<?x1x256xbf16>, %seed: i64) -> tensor<?x1xi64> {
  %0 = llm.sample %l, %seed temperature -0.5 top_p 1.0 : (tensor<?x1x256xbf16>, i64) -> tensor<?x1xi64>
  return %0 : tensor<?x1xi64>
}
