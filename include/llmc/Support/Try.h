//===- Try.h - unwrap llvm::Expected or return its error ----------*- C++ -*-===//
//
// The executor fetches several operands per op, each an llvm::Expected; the
// three-line check-and-return per operand buried each op's actual work.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_SUPPORT_TRY_H
#define LLMC_SUPPORT_TRY_H

#include "llvm/Support/Error.h"

/// Evaluates `expr` (an llvm::Expected<T>); on failure returns its error from
/// the enclosing function (which returns llvm::Error or llvm::Expected<U>),
/// otherwise binds `var` to the value (T&).
#define LLMC_TRY(var, expr)                                                    \
  auto var##OrError = (expr);                                                  \
  if (!var##OrError)                                                           \
    return var##OrError.takeError();                                           \
  auto &var = *var##OrError

#endif // LLMC_SUPPORT_TRY_H
