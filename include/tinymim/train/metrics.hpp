// Metrics of a run: a CSV log (one row per logged step) and curves drawn as PNG with gnuplot.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tinymim/core/error.hpp"

namespace tinymim::train {

class csv_log {
public:
    // Opens (appending when resuming) path with the given columns; a new file gets the header.
    csv_log(std::filesystem::path path, std::vector<std::string> columns, bool append)
        : path_(std::move(path)), columns_(std::move(columns)) {
        const bool fresh = !append || !std::filesystem::exists(path_);
        out_.open(path_, fresh ? std::ios::trunc : std::ios::app);
        TINYMIM_CHECK(out_.good(), "cannot write the metrics log '", path_.string(), "'");
        if (fresh) {
            for (std::size_t i = 0; i < columns_.size(); ++i) out_ << (i ? "," : "") << columns_[i];
            out_ << "\n";
            out_.flush();
        }
    }
    void row(const std::vector<double>& values) {
        TINYMIM_CHECK(values.size() == columns_.size(), "csv_log: ", values.size(), " values for ", columns_.size(),
                      " columns");
        for (std::size_t i = 0; i < values.size(); ++i) {
            char b[32];
            std::snprintf(b, sizeof b, "%.8g", values[i]);
            out_ << (i ? "," : "") << b;
        }
        out_ << "\n";
        out_.flush();
    }
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
    std::vector<std::string> columns_;
    std::ofstream out_;
};

// The gnuplot script that draws y_cols of a CSV against x_col, one line per column with a legend entry.
[[nodiscard]] inline std::string plot_script(const std::filesystem::path& csv, const std::filesystem::path& png,
                                             const std::string& title, const std::string& x_col,
                                             const std::vector<std::string>& y_cols, const std::string& y_label) {
    std::ostringstream g;
    g << "set terminal png size 900,500 noenhanced\nset output '" << png.string() << "'\n"
      << "set datafile separator ','\nset key outside right\nset title '" << title << "'\n"
      << "set xlabel '" << x_col << "'\nset ylabel '" << y_label << "'\nset grid\nplot ";
    for (std::size_t i = 0; i < y_cols.size(); ++i)
        g << (i ? ", " : "") << "'" << csv.string() << "' using '" << x_col << "':'" << y_cols[i]
          << "' with lines lw 2 title '" << y_cols[i] << "'";
    g << "\n";
    return g.str();
}

// Runs a gnuplot script that writes png. Returns false (and says why on stderr) when gnuplot is not installed or
// fails; a plot is a convenience, never a reason to fail a run.
inline bool run_gnuplot(const std::string& script_text, const std::filesystem::path& png) {
    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
        std::fprintf(stderr, "note: gnuplot not found; %s not drawn (apt-get install gnuplot-nox)\n", png.c_str());
        return false;
    }
    const auto script = png.string() + ".gp";
    {
        std::ofstream g(script);
        g << script_text;
    }
    const std::string cmd = "gnuplot '" + script + "' 2>/dev/null";
    const bool ok = std::system(cmd.c_str()) == 0;
    std::filesystem::remove(script);
    if (!ok) std::fprintf(stderr, "note: gnuplot could not draw %s\n", png.c_str());
    return ok;
}

// Draws columns y_cols of a CSV (x = column x_col) as a PNG with gnuplot (false when it could not).
inline bool plot_csv(const std::filesystem::path& csv, const std::filesystem::path& png, const std::string& title,
                     const std::string& x_col, const std::vector<std::string>& y_cols, const std::string& y_label) {
    return run_gnuplot(plot_script(csv, png, title, x_col, y_cols, y_label), png);
}

}  // namespace tinymim::train
