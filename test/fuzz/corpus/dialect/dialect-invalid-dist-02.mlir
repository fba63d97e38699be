func.func @stage_args(%x: tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  %r = dist.stage 0 layers [0, 1) (%x) : (tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  ^bb0(%y: tensor<?x4xbf16>):
    dist.yield %x : tensor<?x8xbf16>
  }
  return %r : tensor<?x8xbf16>
}
