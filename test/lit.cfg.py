# -*- Python -*- lit.cfg.py - the llmc lit suite.
#
# Tests are test/<area>/<name>.mlir (passes, dialect, diagnostics) and
# test/<area>/<name>.test (tools driven by RUN lines). Inputs/ folders and
# test/models hold data, not tests.
import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "llmc"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.llmc_obj_root, "test")
config.excludes = ["Inputs", "models", "unit", "fuzz", "gpu", "CMakeLists.txt",
                   "lit.cfg.py", "lit.site.cfg.py"]

# FileCheck variables are scoped to a CHECK-LABEL block.
config.environment["FILECHECK_OPTS"] = "-enable-var-scope --allow-unused-prefixes=false"

config.substitutions.append(("%models", os.path.join(config.llmc_src_root, "test", "models")))
config.substitutions.append(("%examples", os.path.join(config.llmc_src_root, "examples")))
config.substitutions.append(("%llmc_obj_root", config.llmc_obj_root))

llvm_config.with_system_environment(["HOME", "TMPDIR", "TMP", "TEMP"])
# RUN lines may start with `not`; lit only rewrites it after a pipe.
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.use_default_substitutions()

tool_dirs = [config.llmc_tools_dir, config.llvm_tools_dir]
tools = ["llm-opt", "llm-import", "llm-checkpoint", "llm-tokenize"]
for optional in ["llm-run", "llm-plan", "llm-compile", "llm-launch"]:
    if os.path.exists(os.path.join(config.llmc_tools_dir, optional)):
        tools.append(optional)
        config.available_features.add(optional)
llvm_config.add_tool_substitutions(tools, tool_dirs)
llvm_config.add_tool_substitutions(["split-file"], [config.llvm_tools_dir])
