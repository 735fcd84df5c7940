// What `tinymim report` and `demo` share: the comparison figure and the demo's table.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace tool {

// comparison.png in a run folder: each fine-tuning's accuracy per epoch beside each pre-training's loss, from the
// folder's CSV logs. False when there is nothing to draw or gnuplot could not.
bool draw_comparison(const std::filesystem::path& dir);

// The demo's results table (markdown) from its results.json.
std::string demo_table(const nlohmann::json& results);

// Writes text to path whole or not at all (io::write_file_atomically).
void write_text_file(const std::filesystem::path& path, const std::string& text);

}  // namespace tool
