func.func @combine_type(%e: tensor<1x?x8xbf16>, %r: tensor<?x3xi64>, %x: tensor<?x?x8xbf16>) {
  %y = dist.expert_combine %e, %r, %x on @grid axis 0 : (tensor<1x?x8xbf16>, tensor<?x3xi64>, tensor<?x?x8xbf16>) -> tensor<?x?x4xbf16>
  return
}
