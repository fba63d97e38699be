func.func @microbatches(%x: tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  %r = dist.pipeline microbatches 0 (%x) : (tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  ^bb0(%y: tensor<?x8xbf16>):
    dist.yield %y : tensor<?x8xbf16>
  }
  return %r : tensor<?x8xbf16>
}
