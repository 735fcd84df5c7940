// The tool's command line, built apart from running it: main.cpp parses with it and dispatches, and the
// argv fuzz target (tests/fuzz/argv_fuzz.cpp) parses exactly what the tool parses. Every numeric option
// carries its range, so a value outside it is refused before any work, naming the option and the range.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "commands.hpp"

namespace tool {

struct command_line {
    explicit command_line(std::string description) : app(std::move(description)) {}
    CLI::App app;
    common_options common;
    pretrain_args pretrain;
    distill_args distill;
    finetune_args finetune;
    eval_args eval;
    embed_args embed;
    bench_args bench;
    demo_args demo;
    report_args report;
    CLI::App *pretrain_cmd = nullptr, *distill_cmd = nullptr, *finetune_cmd = nullptr, *eval_cmd = nullptr,
             *embed_cmd = nullptr, *bench_cmd = nullptr, *demo_cmd = nullptr, *report_cmd = nullptr;
};

// Heap-allocated: the options hold pointers into the argument structs, which must not move.
[[nodiscard]] std::unique_ptr<command_line> make_command_line();

}  // namespace tool
