// RUN: llm-opt %s -split-input-file --llm-pipeline-split | FileCheck %s

// Pipeline stages on hand-written modules that already carry a grid with a
// pp axis. Stages are contiguous layer ranges minimising the largest stage's
// parameter count (the embedding counts with the first stage, the final norm
// and lm_head with the last); ties go to earlier cuts. Imported models are in
// pipeline-models.test.

// Four 64x64 layers (4096 parameters each), a 64x64 embedding and lm_head,
// pp2, 4 micro-batches. Stage costs: [0, 2) = embed + 2 layers = 12288,
// [2, 4) = 2 layers + norm + head = 12352 (any other cut leaves a stage with
// 16384 or more). Stage 0 has the embedding, stage 1 the last token, final
// norm, lm_head and argmax; the hidden state crosses by one dist.transfer on
// grid axis 0, while the ids, positions and cache (function arguments) reach
// both stages directly.
// CHECK-LABEL: module @stages attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [2], microbatches = 4>} {
// CHECK:         func.func @forward(%[[IDS:[^:]+]]: tensor<?x?xi64>, %[[POS:[^:]+]]: tensor<?x?xi64>, %[[CACHE:[^:]+]]: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>)
// CHECK-NEXT:      %[[PIPE:.+]]:2 = dist.pipeline microbatches 4 (%[[IDS]], %[[POS]], %[[CACHE]]) : (tensor<?x?xi64>, tensor<?x?xi64>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>) -> (tensor<?x1x64xbf16>, tensor<?x1xi64>) {
// CHECK-NEXT:      ^bb0(%[[PI:[^:]+]]: tensor<?x?xi64>, %[[PP:[^:]+]]: tensor<?x?xi64>, %[[PC:[^:]+]]: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>):
// CHECK-NEXT:        %[[S0:.+]] = dist.stage 0 layers [0, 2) (%[[PI]], %[[PP]], %[[PC]]) : (tensor<?x?xi64>, tensor<?x?xi64>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>) -> tensor<?x?x64xbf16> {
// CHECK-NEXT:        ^bb0(%[[I0:[^:]+]]: tensor<?x?xi64>, %[[P0:[^:]+]]: tensor<?x?xi64>, %[[C0:[^:]+]]: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>):
// CHECK-NEXT:          %[[E:.+]] = llm.param @embed
// CHECK-NEXT:          %[[H:.+]] = llm.embedding %[[I0]], %[[E]]
// CHECK-NEXT:          %[[H0:.+]] = llm.decoder_layer 0 (%[[H]], %[[P0]], %[[C0]])
// CHECK:               %[[H1:.+]] = llm.decoder_layer 1 (%[[H0]], %[[P0]], %[[C0]])
// CHECK:               dist.yield %[[H1]] : tensor<?x?x64xbf16>
// CHECK-NEXT:        }
// CHECK-NEXT:        %[[T:.+]] = dist.transfer %[[S0]] on @grid axis 0 from 0 to 1 : tensor<?x?x64xbf16>
// CHECK-NEXT:        %[[S1:.+]]:2 = dist.stage 1 layers [2, 4) (%[[T]], %[[PP]], %[[PC]]) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>) -> (tensor<?x1x64xbf16>, tensor<?x1xi64>) {
// CHECK-NEXT:        ^bb0(%[[X1:[^:]+]]: tensor<?x?x64xbf16>, %[[P1:[^:]+]]: tensor<?x?xi64>, %[[C1:[^:]+]]: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>):
// CHECK-NEXT:          %[[H2:.+]] = llm.decoder_layer 2 (%[[X1]], %[[P1]], %[[C1]])
// CHECK:               %[[H3:.+]] = llm.decoder_layer 3 (%[[H2]], %[[P1]], %[[C1]])
// CHECK:               %[[LAST:.+]] = llm.last_token %[[H3]]
// CHECK-NEXT:          llm.param @norm
// CHECK-NEXT:          %[[N:.+]] = llm.rms_norm %[[LAST]]
// CHECK-NEXT:          %[[WH:.+]] = llm.param @head
// CHECK-NEXT:          %[[LOGITS:.+]] = llm.lm_head %[[N]], %[[WH]]
// CHECK-NEXT:          %[[NEXT:.+]] = llm.argmax %[[LOGITS]]
// CHECK-NEXT:          dist.yield %[[LOGITS]], %[[NEXT]] : tensor<?x1x64xbf16>, tensor<?x1xi64>
// CHECK-NEXT:        }
// CHECK-NEXT:        dist.yield %[[S1]]#0, %[[S1]]#1 : tensor<?x1x64xbf16>, tensor<?x1xi64>
// CHECK-NEXT:      }
// CHECK-NEXT:      return %[[PIPE]]#0, %[[PIPE]]#1 : tensor<?x1x64xbf16>, tensor<?x1xi64>

!cache = !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>
module @stages attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [2], microbatches = 4>} {
  shard.grid @grid(shape = 2)
  llm.weight @embed : tensor<64x64xbf16>
  llm.weight @w0 : tensor<64x64xbf16>
  llm.weight @w1 : tensor<64x64xbf16>
  llm.weight @w2 : tensor<64x64xbf16>
  llm.weight @w3 : tensor<64x64xbf16>
  llm.weight @norm : tensor<64xbf16>
  llm.weight @head : tensor<64x64xbf16>
  func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>, %cache: !cache) -> (tensor<?x1x64xbf16>, tensor<?x1xi64>) {
    %emb = llm.param @embed : tensor<64x64xbf16>
    %h = llm.embedding %ids, %emb : (tensor<?x?xi64>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
    %h0 = llm.decoder_layer 0 (%h, %pos, %cache) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !cache) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>, %p: tensor<?x?xi64>, %c: !cache):
      %w = llm.param @w0 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %h1 = llm.decoder_layer 1 (%h0, %pos, %cache) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !cache) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>, %p: tensor<?x?xi64>, %c: !cache):
      %w = llm.param @w1 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %h2 = llm.decoder_layer 2 (%h1, %pos, %cache) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !cache) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>, %p: tensor<?x?xi64>, %c: !cache):
      %w = llm.param @w2 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %h3 = llm.decoder_layer 3 (%h2, %pos, %cache) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !cache) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>, %p: tensor<?x?xi64>, %c: !cache):
      %w = llm.param @w3 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %last = llm.last_token %h3 : (tensor<?x?x64xbf16>) -> tensor<?x1x64xbf16>
    %wn = llm.param @norm : tensor<64xbf16>
    %n = llm.rms_norm %last, %wn eps 1.000000e-05 : (tensor<?x1x64xbf16>, tensor<64xbf16>) -> tensor<?x1x64xbf16>
    %wh = llm.param @head : tensor<64x64xbf16>
    %logits = llm.lm_head %n, %wh : (tensor<?x1x64xbf16>, tensor<64x64xbf16>) -> tensor<?x1x64xbf16>
    %next = llm.argmax %logits : (tensor<?x1x64xbf16>) -> tensor<?x1xi64>
    return %logits, %next : tensor<?x1x64xbf16>, tensor<?x1xi64>
  }
}
// -----

// Four equal layers over pp3: one stage must take two. The largest stage is
// 2 layers whichever stage it is; the tie goes to the earlier cuts, so the
// last stage gets the extra layer. With microbatches = 1 the pipeline
// runs 1 micro-batch.
// CHECK-LABEL: module @uneven attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [3], microbatches = 1>} {
// CHECK:         dist.pipeline microbatches 1
// CHECK:         %[[S0:.+]] = dist.stage 0 layers [0, 1)
// CHECK-NOT:     llm.decoder_layer 1
// CHECK:         %[[T1:.+]] = dist.transfer %[[S0]] on @grid axis 0 from 0 to 1
// CHECK-NEXT:    %[[S1:.+]] = dist.stage 1 layers [1, 2) (%[[T1]])
// CHECK-NEXT:    ^bb0
// CHECK-NEXT:      llm.decoder_layer 1
// CHECK-NOT:     llm.decoder_layer 2
// CHECK:         %[[T2:.+]] = dist.transfer %[[S1]] on @grid axis 0 from 1 to 2
// CHECK-NEXT:    dist.stage 2 layers [2, 4) (%[[T2]])
// CHECK-NEXT:    ^bb0
// CHECK-NEXT:      llm.decoder_layer 2
// CHECK:           llm.decoder_layer 3

module @uneven attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [3], microbatches = 1>} {
  shard.grid @grid(shape = 3)
  llm.weight @w0 : tensor<64x64xbf16>
  llm.weight @w1 : tensor<64x64xbf16>
  llm.weight @w2 : tensor<64x64xbf16>
  llm.weight @w3 : tensor<64x64xbf16>
  func.func @forward(%h: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    %h0 = llm.decoder_layer 0 (%h) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w = llm.param @w0 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %h1 = llm.decoder_layer 1 (%h0) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w = llm.param @w1 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %h2 = llm.decoder_layer 2 (%h1) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w = llm.param @w2 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %h3 = llm.decoder_layer 3 (%h2) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w = llm.param @w3 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    return %h3 : tensor<?x?x64xbf16>
  }
}
// -----

// Cost, not layer count, decides: layer 3 holds four 64x64 matrices (16384
// parameters), layers 0-2 one each (4096). pp2: [0, 3) = 12288 and
// [3, 4) = 16384, against 8192 / 24576 for [0, 2) / [2, 4).
// CHECK-LABEL: module @balance attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [2], microbatches = 1>} {
// CHECK:         dist.stage 0 layers [0, 3)
// CHECK:         dist.stage 1 layers [3, 4)

module @balance attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  llm.weight @w0 : tensor<64x64xbf16>
  llm.weight @w1 : tensor<64x64xbf16>
  llm.weight @w2 : tensor<64x64xbf16>
  llm.weight @w3_0 : tensor<64x64xbf16>
  llm.weight @w3_1 : tensor<64x64xbf16>
  llm.weight @w3_2 : tensor<64x64xbf16>
  llm.weight @w3_3 : tensor<64x64xbf16>
  func.func @forward(%h: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    %h0 = llm.decoder_layer 0 (%h) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w = llm.param @w0 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %h1 = llm.decoder_layer 1 (%h0) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w = llm.param @w1 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %h2 = llm.decoder_layer 2 (%h1) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w = llm.param @w2 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %h3 = llm.decoder_layer 3 (%h2) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w0 = llm.param @w3_0 : tensor<64x64xbf16>
      %y0 = llm.linear %x, %w0 : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      %w1 = llm.param @w3_1 : tensor<64x64xbf16>
      %y1 = llm.linear %y0, %w1 : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      %w2 = llm.param @w3_2 : tensor<64x64xbf16>
      %y2 = llm.linear %y1, %w2 : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      %w3 = llm.param @w3_3 : tensor<64x64xbf16>
      %y3 = llm.linear %y2, %w3 : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y3 : tensor<?x?x64xbf16>
    }
    return %h3 : tensor<?x?x64xbf16>
  }
}
// -----

// The embedding (128x64 = 8192 parameters, two layers' worth) counts with
// the first stage and pushes the cut earlier: [0, 1) = 12288 and
// [1, 4) = 12288, against 16384 / 8192 for an even split of the layers.
// CHECK-LABEL: module @embedding_shift attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [2], microbatches = 1>} {
// CHECK:         dist.stage 0 layers [0, 1)
// CHECK-NEXT:    ^bb0
// CHECK-NEXT:      llm.param @embed
// CHECK-NEXT:      llm.embedding
// CHECK:         dist.stage 1 layers [1, 4)
// CHECK-NOT:       llm.embedding

module @embedding_shift attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  llm.weight @embed : tensor<128x64xbf16>
  llm.weight @w0 : tensor<64x64xbf16>
  llm.weight @w1 : tensor<64x64xbf16>
  llm.weight @w2 : tensor<64x64xbf16>
  llm.weight @w3 : tensor<64x64xbf16>
  func.func @forward(%ids: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
    %e = llm.param @embed : tensor<128x64xbf16>
    %h = llm.embedding %ids, %e : (tensor<?x?xi64>, tensor<128x64xbf16>) -> tensor<?x?x64xbf16>
    %h0 = llm.decoder_layer 0 (%h) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w = llm.param @w0 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %h1 = llm.decoder_layer 1 (%h0) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w = llm.param @w1 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %h2 = llm.decoder_layer 2 (%h1) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w = llm.param @w2 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %h3 = llm.decoder_layer 3 (%h2) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w = llm.param @w3 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    return %h3 : tensor<?x?x64xbf16>
  }
}
// -----

// A value of stage 0 used in stage 2 goes straight from 0 to 2; stage 0
// yields it once and stage 1 does not relay it.
// CHECK-LABEL: module @skip attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [3], microbatches = 1>} {
// CHECK:         %[[S0:.+]] = dist.stage 0 layers [0, 1)
// CHECK:           dist.yield %{{.+}} : tensor<?x?x64xbf16>
// CHECK:         %[[T01:.+]] = dist.transfer %[[S0]] on @grid axis 0 from 0 to 1
// CHECK-NEXT:    %[[S1:.+]] = dist.stage 1 layers [1, 2) (%[[T01]]) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16>
// CHECK:         %[[T12:.+]] = dist.transfer %[[S1]] on @grid axis 0 from 1 to 2
// CHECK-NEXT:    %[[T02:.+]] = dist.transfer %[[S0]] on @grid axis 0 from 0 to 2
// CHECK-NEXT:    %[[S2:.+]] = dist.stage 2 layers [2, 3) (%[[T12]], %[[T02]])
// CHECK-NEXT:    ^bb0(%[[A:[^:]+]]: tensor<?x?x64xbf16>, %[[SKIP:[^:]+]]: tensor<?x?x64xbf16>):
// CHECK-NEXT:      %[[H2:.+]] = llm.decoder_layer 2 (%[[A]])
// CHECK:           %[[R:.+]] = llm.add %[[H2]], %[[SKIP]]
// CHECK-NEXT:      dist.yield %[[R]]

module @skip attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [3], microbatches = 1>} {
  shard.grid @grid(shape = 3)
  llm.weight @w0 : tensor<64x64xbf16>
  llm.weight @w1 : tensor<64x64xbf16>
  llm.weight @w2 : tensor<64x64xbf16>
  func.func @forward(%h: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    %h0 = llm.decoder_layer 0 (%h) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w = llm.param @w0 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %h1 = llm.decoder_layer 1 (%h0) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w = llm.param @w1 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %h2 = llm.decoder_layer 2 (%h1) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w = llm.param @w2 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %r = llm.add %h2, %h0 : tensor<?x?x64xbf16>
    return %r : tensor<?x?x64xbf16>
  }
}
// -----

// pp is the grid's second axis (dp, pp, tp): transfers name axis 1.
// CHECK-LABEL: module @pp_axis_1 attributes {dist.plan = #dist.plan<axes = ["dp", "pp", "tp"], shape = [2, 2, 2], microbatches = 1>} {
// CHECK:         %[[S0:.+]] = dist.stage 0 layers [0, 1)
// CHECK:         dist.transfer %[[S0]] on @grid axis 1 from 0 to 1
// CHECK:         dist.stage 1 layers [1, 2)

module @pp_axis_1 attributes {dist.plan = #dist.plan<axes = ["dp", "pp", "tp"], shape = [2, 2, 2], microbatches = 1>} {
  shard.grid @grid(shape = 2x2x2)
  llm.weight @w0 : tensor<64x64xbf16>
  llm.weight @w1 : tensor<64x64xbf16>
  func.func @forward(%h: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    %h0 = llm.decoder_layer 0 (%h) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w = llm.param @w0 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %h1 = llm.decoder_layer 1 (%h0) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w = llm.param @w1 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    return %h1 : tensor<?x?x64xbf16>
  }
}
// -----

// No pp axis: the function is left as it is.
// CHECK-LABEL: module @no_pp attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
// CHECK:         func.func @forward(%[[H:[^:]+]]: tensor<?x?x64xbf16>)
// CHECK-NEXT:      %[[H0:.+]] = llm.decoder_layer 0 (%[[H]])
// CHECK-NOT:       dist.
// CHECK:           %[[H1:.+]] = llm.decoder_layer 1 (%[[H0]])
// CHECK-NOT:       dist.
// CHECK:           return %[[H1]]

module @no_pp attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  llm.weight @w0 : tensor<64x64xbf16>
  llm.weight @w1 : tensor<64x64xbf16>
  func.func @forward(%h: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    %h0 = llm.decoder_layer 0 (%h) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w = llm.param @w0 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %h1 = llm.decoder_layer 1 (%h0) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w = llm.param @w1 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    return %h1 : tensor<?x?x64xbf16>
  }
}
