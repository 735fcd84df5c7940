// libFuzzer target: the tool's command line (tool::make_command_line, what main() parses) on arbitrary
// argv: the bytes split at NUL into at most 24 arguments after "tinymim". CLI11's ParseError (help
// included) is the expected answer to a bad command line; one that parses must hold every numeric option
// within the range its help states, so nothing out of range reaches a command.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli.hpp"

namespace {
void require(bool ok) {
    if (!ok) std::abort();
}
bool fraction(double v) { return v >= 0 && v < 1; }                 // [0, 1)
bool share(double v) { return v > 0 && v <= 1; }                    // (0, 1]
bool positive(double v) { return std::isfinite(v) && v > 0; }       // (0, inf)
bool non_negative(double v) { return std::isfinite(v) && v >= 0; }  // [0, inf)
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::string> args{"tinymim"};
    std::string cur;
    for (std::size_t i = 0; i < size && args.size() < 25; ++i) {
        if (data[i] == 0) {
            args.push_back(cur);
            cur.clear();
        } else {
            cur.push_back(char(data[i]));
        }
    }
    if (!cur.empty() && args.size() < 25) args.push_back(cur);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    const auto cl = tool::make_command_line();
    try {
        cl->app.parse(int(argv.size()), argv.data());
    } catch (const CLI::ParseError&) {
        return 0;
    }
    require(cl->pretrain_cmd->parsed() + cl->distill_cmd->parsed() + cl->finetune_cmd->parsed() +
                cl->eval_cmd->parsed() + cl->embed_cmd->parsed() + cl->bench_cmd->parsed() + cl->demo_cmd->parsed() ==
            1);
    const auto& c = cl->common;
    require(c.device == "cpu" || c.device == "cuda");
    require(c.precision == "fp32" || c.precision == "bf16");
    if (cl->pretrain_cmd->parsed()) {
        const auto& a = cl->pretrain;
        require(fraction(a.mask_ratio) && a.epochs >= 1 && a.batch >= 1 && positive(a.blr));
        require(non_negative(a.warmup_epochs) && non_negative(a.weight_decay) && share(a.crop_scale_min));
    } else if (cl->distill_cmd->parsed()) {
        const auto& a = cl->distill;
        require(fraction(a.mask_ratio) && fraction(a.drop_path) && a.epochs >= 1 && a.batch >= 1 && positive(a.blr));
        require(non_negative(a.warmup_epochs) && share(a.crop_scale_min));
        require(a.target == "relation" || a.target == "relation-heads" || a.target == "feature" || a.target == "cls" ||
                a.target == "dmae");
        require(a.input == "raw" || a.input == "masked");
    } else if (cl->finetune_cmd->parsed()) {
        const auto& a = cl->finetune;
        require(a.epochs >= 1 && a.batch >= 1 && positive(a.blr) && share(a.layer_decay) && fraction(a.drop_path));
        require(fraction(a.label_smoothing) && non_negative(a.warmup_epochs) && share(a.crop_scale_min));
    } else if (cl->bench_cmd->parsed()) {
        const auto& a = cl->bench;
        require(a.batch >= 1 && a.steps >= 1);
    }
    return 0;
}
