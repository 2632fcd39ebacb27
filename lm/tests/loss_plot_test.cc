// loss.png: a PNG that libgd decodes back, of the size asked, with every series' colour drawn
// (lines and legend) and none for a series without points.
#include <gd.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "lm/loss_plot.h"

namespace engram::lm {
namespace {

// Pixels of `im` that are exactly `rgb`.
int count_colour(gdImagePtr im, uint32_t rgb) {
  int n = 0;
  for (int y = 0; y < gdImageSY(im); ++y)
    for (int x = 0; x < gdImageSX(im); ++x) {
      const int c = gdImageGetTrueColorPixel(im, x, y);
      n += static_cast<uint32_t>((gdTrueColorGetRed(c) << 16) | (gdTrueColorGetGreen(c) << 8) | gdTrueColorGetBlue(c)) == rgb;
    }
  return n;
}

TEST(LossPlotTest, DecodesAtItsSizeWithEachSeriesColour) {
  const std::string path = (std::filesystem::temp_directory_path() / "engram-loss-plot-test.png").string();
  PlotSeries train{"train (with memory)", 0x1f77b4, {}, {}}, val{"validation (with memory)", 0xd62728, {}, {}},
      nomem{"validation (without memory)", 0x2ca02c, {}, {}};
  for (int step = 10; step <= 500; step += 10) {
    train.x.push_back(step);
    train.y.push_back(6.0 / (1 + step / 100.0));
  }
  for (int step = 100; step <= 500; step += 100) {
    val.x.push_back(step);
    val.y.push_back(6.5 / (1 + step / 100.0));
  }
  write_plot_png(path, {train, val, nomem}, {"loss of r6", "step", "loss"}, 640, 400);

  std::FILE* f = std::fopen(path.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  std::unique_ptr<gdImage, void (*)(gdImagePtr)> im(gdImageCreateFromPng(f), gdImageDestroy);
  std::fclose(f);
  ASSERT_NE(im, nullptr) << "not a PNG libgd can read";
  EXPECT_EQ(gdImageSX(im.get()), 640);
  EXPECT_EQ(gdImageSY(im.get()), 400);
  // A 2-pixel line over most of the width, and the legend's swatch (20 × 3).
  EXPECT_GT(count_colour(im.get(), 0x1f77b4), 500);
  EXPECT_GT(count_colour(im.get(), 0xd62728), 300);
  EXPECT_EQ(count_colour(im.get(), 0x2ca02c), 0);  // no points: not drawn, not in the legend
  EXPECT_GT(count_colour(im.get(), 0x000000), 1000);  // axes, ticks, labels, title
  std::filesystem::remove(path);
}

TEST(LossPlotTest, AnUnwritablePathIsAnError) {
  EXPECT_THROW(write_plot_png("/nonexistent-dir/loss.png", {}, {"t", "x", "y"}, 100, 100), std::exception);
}

}  // namespace
}  // namespace engram::lm
