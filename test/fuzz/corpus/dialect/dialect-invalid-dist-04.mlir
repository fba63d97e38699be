func.func @stage_index(%x: tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  %r = dist.stage -1 layers [0, 1) (%x) : (tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  ^bb0(%y: tensor<?x8xbf16>):
    dist.yield %y : tensor<?x8xbf16>
  }
  return %r : tensor<?x8xbf16>
}
