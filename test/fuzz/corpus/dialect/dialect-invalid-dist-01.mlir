func.func @pipeline_yield(%x: tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  %r = dist.pipeline microbatches 1 (%x) : (tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  ^bb0(%y: tensor<?x8xbf16>):
    dist.yield
  }
  return %r : tensor<?x8xbf16>
}
