//===- Ops.h - input of back-edges.test (planted includes) --------------===//
// No include: the layer exists.
