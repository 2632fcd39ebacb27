// lm/loss_plot.h — line charts as PNG files (loss.png), drawn with libgd: a title, axes with
// tick labels, light grid lines, one colour per series and a legend naming them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace engram::lm {

struct PlotSeries {
  std::string name;  // the legend's text
  uint32_t rgb = 0;  // 0xRRGGBB
  std::vector<double> x, y;
};

struct PlotText {
  std::string title, x_label, y_label;
};

// Writes a width × height PNG. Series without points are left out (and out of the legend).
// Throws engram::Error(kIOError) if the file cannot be written.
void write_plot_png(const std::string& path, const std::vector<PlotSeries>& series, const PlotText& text,
                    int width, int height);

}  // namespace engram::lm
