module attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  func.func @transfer_axis(%x: tensor<?x8xbf16>) -> tensor<?x8xbf16> {
    %t = dist.transfer %x on @grid axis 1 from 0 to 1 : tensor<?x8xbf16>
    return %t : tensor<?x8xbf16>
  }
}
