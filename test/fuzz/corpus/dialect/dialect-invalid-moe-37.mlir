func.func @shared_up(%x: tensor<?x?x64xbf16>, %g: tensor<128x64xbf16>, %u: tensor<64x64xbf16>, %d: tensor<64x128xbf16>, %eg: tensor<1x64xbf16>) -> tensor<?x?x64xbf16> {
  %0 = llm.shared_expert %x, %g, %u, %d, %eg : (tensor<?x?x64xbf16>, tensor<128x64xbf16>, tensor<64x64xbf16>, tensor<64x128xbf16>, tensor<1x64xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
