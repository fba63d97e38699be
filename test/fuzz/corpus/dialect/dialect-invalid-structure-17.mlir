func.func @no_terminator() {
  "llm.decoder_layer"() <{index = 0 : i64}> ({
  ^bb0:
  }) : () -> ()
  return
}
