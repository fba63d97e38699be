func.func @yield_outside_layer() {
  llm.yield
}
