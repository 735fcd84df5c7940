// tinymim report DIR: a run folder's curves, its comparison figure and (a demo's folder) its table, rebuilt from the
// CSV and JSON files the commands wrote there, so a folder copied off a cluster, or one whose plots were skipped
// (--no-plots, no gnuplot), can be looked at.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include <tinymim/io/atomic_file.hpp>
#include <tinymim/train/metrics.hpp>

#include "commands.hpp"
#include "report.hpp"

namespace tool {

namespace {
namespace fs = std::filesystem;

std::vector<std::string> csv_header(const fs::path& csv) {
    std::ifstream in(csv);
    std::string line;
    std::getline(in, line);
    std::vector<std::string> cols;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cols.push_back(c);
    return cols;
}

bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() > tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The run folder's logs: <stem>_metrics.csv of every command that trained, <stem>_eval.csv of every fine-tuning.
struct run_logs {
    std::vector<std::string> trained, evaluated;  // stems, sorted
};

run_logs find_logs(const fs::path& dir) {
    run_logs r;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string n = e.path().filename().string();
        if (ends_with(n, "_metrics.csv")) r.trained.push_back(n.substr(0, n.size() - 12));
        if (ends_with(n, "_eval.csv")) r.evaluated.push_back(n.substr(0, n.size() - 9));
    }
    std::sort(r.trained.begin(), r.trained.end());
    std::sort(r.evaluated.begin(), r.evaluated.end());
    return r;
}

// The column a log's curve is drawn from: the first after images_per_s (the loss, whatever the task names it), or
// the evaluation's accuracy.
std::string loss_column(const std::vector<std::string>& cols) {
    const auto it = std::find(cols.begin(), cols.end(), "images_per_s");
    return it != cols.end() && it + 1 != cols.end() ? *(it + 1) : std::string();
}
std::string accuracy_column(const std::vector<std::string>& cols) {
    for (const auto& c : cols)
        if (ends_with(c, "_accuracy")) return c;
    return {};
}
}  // namespace

void write_text_file(const fs::path& path, const std::string& text) {
    tinymim::io::write_file_atomically(path, [&](const auto& sink) { sink(text.data(), text.size()); });
}

bool draw_comparison(const fs::path& dir) {
    const auto logs = find_logs(dir);
    std::vector<std::string> pre;  // pre-training and distillation: trained, not fine-tuned
    for (const auto& s : logs.trained)
        if (std::find(logs.evaluated.begin(), logs.evaluated.end(), s) == logs.evaluated.end()) pre.push_back(s);
    if (logs.evaluated.empty() && pre.empty()) return false;
    const fs::path png = dir / "comparison.png";
    std::ostringstream g;
    g << "set terminal png size 1400,520 noenhanced\nset output '" << png.string() << "'\n"
      << "set datafile separator ','\nset multiplot layout 1,2\nset grid\n";
    std::string eval_name = "test";
    std::vector<std::string> acc_plots, loss_plots;
    for (const auto& s : logs.evaluated) {
        const auto col = accuracy_column(csv_header(dir / (s + "_eval.csv")));
        if (col.empty()) continue;
        eval_name = col.substr(0, col.size() - 9);
        acc_plots.push_back("'" + (dir / (s + "_eval.csv")).string() + "' using 'epoch':(100*column('" + col +
                            "')) with linespoints lw 2 title '" + s + "'");
    }
    for (const auto& s : pre) {
        const auto col = loss_column(csv_header(dir / (s + "_metrics.csv")));
        if (col.empty()) continue;
        loss_plots.push_back("'" + (dir / (s + "_metrics.csv")).string() + "' using 'epoch':'" + col +
                             "' with lines lw 2 title '" + s + " (" + col + ")'");
    }
    auto join = [](const std::vector<std::string>& v) {
        std::string out;
        for (const auto& p : v) out += (out.empty() ? "" : ", ") + p;
        return v.empty() ? std::string("NaN notitle") : out;
    };
    g << "set title 'Fine-tuning: " << eval_name << " top-1 per epoch'\nset xlabel 'epoch'\nset ylabel '" << eval_name
      << " top-1 (%)'\nset key bottom right\nplot " << join(acc_plots) << "\n"
      << "set title 'Pre-training losses (MAE and distillation losses differ in scale)'\nset xlabel 'epoch'\n"
      << "set ylabel 'loss'\nset logscale y\nset key top right\nplot " << join(loss_plots) << "\nunset multiplot\n";
    return tinymim::train::run_gnuplot(g.str(), png);
}

std::string demo_table(const nlohmann::json& r) {
    const auto seen = r.contains("pretrain_images_seen") ? std::to_string(r["pretrain_images_seen"].get<std::size_t>())
                                                         : std::string("—");
    // Results from before the demo recorded its teacher block came from the last one.
    const std::string block = r.contains("teacher_block")
                                  ? "block " + std::to_string(r["teacher_block"].get<std::size_t>())
                                  : std::string("last block");
    // Results from before the demo recorded it pre-trained the teacher on as many images as the students.
    const auto teacher_seen = r.contains("teacher_pretrain_images_seen")
                                  ? std::to_string(r["teacher_pretrain_images_seen"].get<std::size_t>())
                                  : seen;
    auto acc = [&](const char* k) {
        char b[32];
        std::snprintf(b, sizeof b, "%.2f%%", 100 * r.at(k).at("accuracy").get<double>());
        return std::string(b);
    };
    std::string t =
        "| model | pre-training | pre-training images seen | Fashion-MNIST test top-1 |\n|---|---|---|---|\n";
    t += "| fm-small (teacher) | MAE | " + teacher_seen + " | " + acc("teacher_mae") + " |\n";
    t += "| fm-tiny | MAE from scratch | " + seen + " | " + acc("student_mae") + " |\n";
    t += "| fm-tiny | TinyMIM (relations QK+VV from the teacher's " + block + ") | " + seen + " | " +
         acc("student_tinymim") + " |\n";
    return t;
}

void run_report(const report_args& a) {
    TINYMIM_CHECK(fs::is_directory(a.dir), "report: '", a.dir.string(), "' is not a folder");
    const auto logs = find_logs(a.dir);
    const bool demo = fs::exists(a.dir / "results.json");
    TINYMIM_CHECK(!logs.trained.empty() || !logs.evaluated.empty() || demo, "report: '", a.dir.string(),
                  "' holds no <name>_metrics.csv, <name>_eval.csv or results.json: not a run folder of this tool");
    std::size_t drawn = 0;
    for (const auto& s : logs.trained) {
        const auto cols = csv_header(a.dir / (s + "_metrics.csv"));
        const auto it = std::find(cols.begin(), cols.end(), "images_per_s");
        const std::vector<std::string> terms(it == cols.end() ? cols.end() : it + 1, cols.end());
        if (!terms.empty())
            drawn += tinymim::train::plot_csv(a.dir / (s + "_metrics.csv"), a.dir / (s + "_loss.png"),
                                              s + ": training loss", "step", terms, "loss");
    }
    for (const auto& s : logs.evaluated) {
        const auto col = accuracy_column(csv_header(a.dir / (s + "_eval.csv")));
        if (!col.empty())
            drawn += tinymim::train::plot_csv(a.dir / (s + "_eval.csv"), a.dir / (s + "_accuracy.png"),
                                              s + ": " + col.substr(0, col.size() - 9) + " accuracy", "epoch", {col},
                                              "top-1");
    }
    drawn += draw_comparison(a.dir);
    if (demo) {
        nlohmann::json r;
        try {
            r = nlohmann::json::parse(std::ifstream(a.dir / "results.json"));
            const auto table = demo_table(r);
            write_text_file(a.dir / "results.md", table);
            std::printf("%s", table.c_str());
        } catch (const nlohmann::json::exception& e) {
            throw tinymim::error("report: " + (a.dir / "results.json").string() +
                                 " is not a demo's results: " + e.what());
        }
    }
    std::printf("report: %zu figures drawn in %s from %zu training and %zu evaluation logs%s\n", drawn, a.dir.c_str(),
                logs.trained.size(), logs.evaluated.size(), demo ? "; results.md rebuilt" : "");
}

}  // namespace tool
