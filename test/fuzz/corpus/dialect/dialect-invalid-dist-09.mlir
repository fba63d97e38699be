module attributes {dist.plan = #dist.plan<axes = ["ep"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  func.func @dispatch_owner(%x: tensor<?x?x8xbf16>, %w: tensor<?x?x1xf32>, %i: tensor<?x?x1xi64>) {
    %t, %tw, %ti, %r = dist.expert_dispatch %x, %w, %i on @grid axis 0 owners [0, 2] : (tensor<?x?x8xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64>) -> (tensor<1x?x8xbf16>, tensor<1x?x1xf32>, tensor<1x?x1xi64>, tensor<?x3xi64>)
    return
  }
}
