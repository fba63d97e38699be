module @unsharded {
  func.func @forward() {
    return
  }
}
