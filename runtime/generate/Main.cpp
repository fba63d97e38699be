//===- Main.cpp - main() of a compiled model binary -----------------------===//
//
// Kept apart from Generate.cpp so that programs linking LLMCRuntimeGenerate with
// a main of their own (unit tests) do not pull this one in.
//
//===----------------------------------------------------------------------===//

#include "runtime/generate/Generate.h"

int main(int argc, char **argv) { return llmc::rt::runModelMain(argc, argv); }
