// lm/png_plot.h — a tiny line plotter that writes PNG files (zlib only), so that a loss curve
// needs no plotting tool. Axes with tick marks, one colour per series, a colour key at the top.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace engram::lm {

struct PlotSeries {
  std::string name;
  uint32_t rgb = 0;  // 0xRRGGBB
  std::vector<double> x, y;
};

// Throws engram::Error(kIOError) if the file cannot be written. Empty series are skipped.
void write_plot_png(const std::string& path, const std::vector<PlotSeries>& series, int width,
                    int height);

}  // namespace engram::lm
