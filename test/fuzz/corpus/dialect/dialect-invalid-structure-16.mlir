func.func @no_block() {
  "llm.decoder_layer"() <{index = 0 : i64}> ({
  }) : () -> ()
  return
}
