func.func @transfer_grid(%x: tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  %t = dist.transfer %x on @nogrid axis 0 from 0 to 1 : tensor<?x8xbf16>
  return %t : tensor<?x8xbf16>
}
