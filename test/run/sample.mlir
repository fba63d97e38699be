// llm.sample draws from the top-k / top-p distribution with the seed that
// llm-run passes as @forward's i64 argument (a hash of --seed and the
// step): the same seed gives the same tokens, another seed others.
// REQUIRES: llm-run
// RUN: llm-run %s --weights=random:1 --prompt='1,2,3;4,5,6' --max-new-tokens=12 --seed=5 > %t.a
// RUN: llm-run %s --weights=random:1 --prompt='1,2,3;4,5,6' --max-new-tokens=12 --seed=5 > %t.b
// RUN: diff %t.a %t.b
// RUN: llm-run %s --weights=random:1 --prompt='1,2,3;4,5,6' --max-new-tokens=12 --seed=6 > %t.c
// RUN: not diff %t.a %t.c > /dev/null
// RUN: FileCheck %s < %t.a
// CHECK-COUNT-2: {{^}}tokens: {{([0-9]+ ){11}[0-9]+$}}

module {
  llm.weight @embed : tensor<16x8xf32>
  llm.weight @head : tensor<16x8xf32>
  func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>, %seed: i64) -> (tensor<?x1x16xf32>, tensor<?x1xi64>) {
    %t = llm.param @embed : tensor<16x8xf32>
    %x = llm.embedding %ids, %t : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
    %l = llm.last_token %x : (tensor<?x?x8xf32>) -> tensor<?x1x8xf32>
    %w = llm.param @head : tensor<16x8xf32>
    %logits = llm.lm_head %l, %w : (tensor<?x1x8xf32>, tensor<16x8xf32>) -> tensor<?x1x16xf32>
    %next = llm.sample %logits, %seed temperature 2.0 top_p 0.95 top_k 8 : (tensor<?x1x16xf32>, i64) -> tensor<?x1xi64>
    return %logits, %next : tensor<?x1x16xf32>, tensor<?x1xi64>
  }
}
