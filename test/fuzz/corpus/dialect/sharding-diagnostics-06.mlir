module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [4], microbatches = 1>} {
  shard.grid @grid(shape = 4)
  func.func @forward() {
    return
  }
}
module {
  func.func @forward(%h: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    %h0 = llm.decoder_layer 0 (%h) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      llm.yield %x : tensor<?x?x64xbf16>
    }
    %h1 = llm.decoder_layer 1 (%h0) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      llm.yield %x : tensor<?x?x64xbf16>
    }
    return %h1 : tensor<?x?x64xbf16>
  }
}
module {
  func.func @forward(%gate: tensor<?x?x128xbf16>, %up: tensor<?x?x128xbf16>) -> tensor<?x?x128xbf16> {
    %s = llm.swiglu %gate, %up : tensor<?x?x128xbf16>
    return %s : tensor<?x?x128xbf16>
  }
}
module {
}
module {
}
module {
}
module {
}
module {
}
module {
}
module {
}
module {
}
module {
}
module {
}
module {
}
module {
}
module {
  func.func @forward(%gate: tensor<?x?x128xbf16>, %up: tensor<?x?x128xbf16>) -> tensor<?x?x128xbf16> {
    %h = llm.decoder_layer 0 (%gate, %up) : (tensor<?x?x128xbf16>, tensor<?x?x128xbf16>) -> tensor<?x?x128xbf16> {
    ^bb0(%g: tensor<?x?x128xbf16>, %u: tensor<?x?x128xbf16>):
      %s = llm.swiglu %g, %u : tensor<?x?x128xbf16>
      llm.yield %s : tensor<?x?x128xbf16>
    }
    return %h : tensor<?x?x128xbf16>
  }
}
module {
  func.func @forward(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x1xf32>, %ri: tensor<?x?x1xi64>, %g: tensor<32x64xbf16>, %u: tensor<32x64xbf16>, %d: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
    %h = llm.decoder_layer 0 (%x, %rw, %ri, %g, %u, %d) : (tensor<?x?x64xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64>, tensor<32x64xbf16>, tensor<32x64xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x0: tensor<?x?x64xbf16>, %rw0: tensor<?x?x1xf32>, %ri0: tensor<?x?x1xi64>, %g0: tensor<32x64xbf16>, %u0: tensor<32x64xbf16>, %d0: tensor<64x32xbf16>):
      %e = llm.experts %x0, %rw0, %ri0 experts 2 gate(%g0, %g0) up(%u0, %u0) down(%d0, %d0) : tensor<?x?x64xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %e : tensor<?x?x64xbf16>
    }
    return %h : tensor<?x?x64xbf16>
  }
}
module {
  func.func @forward() {
    return
  }
}
module {
  func.func @forward() {
    return
  }
}
module {
  func.func @forward() {
    return
  }
}
