func.func @stage_range(%x: tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  %r = dist.stage 0 layers [4, 2) (%x) : (tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  ^bb0(%y: tensor<?x8xbf16>):
    dist.yield %y : tensor<?x8xbf16>
  }
  return %r : tensor<?x8xbf16>
}
