#include "lm/loss_plot.h"

#include <gd.h>
#include <gdfonts.h>
#include <gdfontmb.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

#include "engram/error.h"

namespace engram::lm {
namespace {

struct ImageDeleter {
  void operator()(gdImage* im) const { gdImageDestroy(im); }
};

int colour(gdImagePtr im, uint32_t rgb) {
  return gdImageColorAllocate(im, (rgb >> 16) & 0xff, (rgb >> 8) & 0xff, rgb & 0xff);
}

// A tick step of 1, 2 or 5 × 10^k giving about `want` intervals over `span`.
double tick_step(double span, int want) {
  const double raw = span / want;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * mag >= raw) return m * mag;
  }
  return 10 * mag;
}

std::string tick_label(double v, double step) {
  char b[32];
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step)));
  if (std::fabs(v) >= 1e5) std::snprintf(b, sizeof b, "%.0fk", v / 1e3);
  else std::snprintf(b, sizeof b, "%.*f", decimals, std::fabs(v) < step / 2 ? 0.0 : v);
  return b;
}

// gd's string functions take unsigned char*; they do not write through it.
unsigned char* text_of(const std::string& s) { return reinterpret_cast<unsigned char*>(const_cast<char*>(s.c_str())); }

}  // namespace

void write_plot_png(const std::string& path, const std::vector<PlotSeries>& series, const PlotText& text,
                    int width, int height) {
  std::unique_ptr<gdImage, ImageDeleter> owner(gdImageCreateTrueColor(width, height));
  gdImagePtr im = owner.get();
  const int white = colour(im, 0xffffff), black = colour(im, 0x000000), grid = colour(im, 0xe5e5e5);
  gdImageFilledRectangle(im, 0, 0, width - 1, height - 1, white);
  gdFontPtr small = gdFontGetSmall(), bold = gdFontGetMediumBold();

  // The data's ranges (all series together); a flat or empty range still gets a scale.
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const auto& s : series) {
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, s.x[i]);
      x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]);
      y1 = std::max(y1, s.y[i]);
    }
  }
  if (!(x0 <= x1)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 - x0 < 1e-12) x1 = x0 + 1;
  if (y1 - y0 < 1e-12) y0 -= 0.5, y1 += 0.5;
  const double xs = tick_step(x1 - x0, 8), ys = tick_step(y1 - y0, 6);
  x0 = std::floor(x0 / xs) * xs, x1 = std::ceil(x1 / xs) * xs;
  y0 = std::floor(y0 / ys) * ys, y1 = std::ceil(y1 / ys) * ys;

  // The plot area, inside margins for the title, tick labels and axis labels.
  const int left = 70, right = width - 20, top = 40, bottom = height - 50;
  auto px = [&](double x) { return left + static_cast<int>(std::lround((x - x0) / (x1 - x0) * (right - left))); };
  auto py = [&](double y) { return bottom - static_cast<int>(std::lround((y - y0) / (y1 - y0) * (bottom - top))); };

  for (double x = x0; x <= x1 + xs / 2; x += xs) {
    gdImageLine(im, px(x), top, px(x), bottom, grid);
    gdImageLine(im, px(x), bottom, px(x), bottom + 4, black);
    const std::string label = tick_label(x, xs);
    gdImageString(im, small, px(x) - static_cast<int>(label.size()) * small->w / 2, bottom + 6, text_of(label), black);
  }
  for (double y = y0; y <= y1 + ys / 2; y += ys) {
    gdImageLine(im, left, py(y), right, py(y), grid);
    gdImageLine(im, left - 4, py(y), left, py(y), black);
    const std::string label = tick_label(y, ys);
    gdImageString(im, small, left - 6 - static_cast<int>(label.size()) * small->w, py(y) - small->h / 2,
                  text_of(label), black);
  }
  gdImageRectangle(im, left, top, right, bottom, black);
  gdImageString(im, bold, (width - static_cast<int>(text.title.size()) * bold->w) / 2, 12, text_of(text.title), black);
  gdImageString(im, small, (left + right - static_cast<int>(text.x_label.size()) * small->w) / 2, bottom + 24,
                text_of(text.x_label), black);
  gdImageStringUp(im, small, 8, (top + bottom + static_cast<int>(text.y_label.size()) * small->w) / 2,
                  text_of(text.y_label), black);

  // The lines, two pixels wide, clipped to the plot area; then the legend over them, top right.
  gdImageSetClip(im, left + 1, top + 1, right - 1, bottom - 1);
  gdImageSetThickness(im, 2);
  std::vector<const PlotSeries*> shown;
  for (const auto& s : series) {
    const std::size_t n = std::min(s.x.size(), s.y.size());
    if (n == 0) continue;
    shown.push_back(&s);
    const int c = colour(im, s.rgb);
    if (n == 1) gdImageFilledEllipse(im, px(s.x[0]), py(s.y[0]), 5, 5, c);
    for (std::size_t i = 1; i < n; ++i) gdImageLine(im, px(s.x[i - 1]), py(s.y[i - 1]), px(s.x[i]), py(s.y[i]), c);
  }
  gdImageSetThickness(im, 1);
  gdImageSetClip(im, 0, 0, width - 1, height - 1);
  if (!shown.empty()) {
    std::size_t longest = 0;
    for (const auto* s : shown) longest = std::max(longest, s->name.size());
    const int row = small->h + 4, box_w = 36 + static_cast<int>(longest) * small->w;
    const int bx = right - box_w - 8, by = top + 8;
    gdImageFilledRectangle(im, bx, by, bx + box_w, by + 6 + row * static_cast<int>(shown.size()), white);
    gdImageRectangle(im, bx, by, bx + box_w, by + 6 + row * static_cast<int>(shown.size()), black);
    for (std::size_t i = 0; i < shown.size(); ++i) {
      const int y = by + 4 + row * static_cast<int>(i) + small->h / 2;
      gdImageFilledRectangle(im, bx + 6, y - 1, bx + 26, y + 1, colour(im, shown[i]->rgb));
      gdImageString(im, small, bx + 32, y - small->h / 2, text_of(shown[i]->name), black);
    }
  }

  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw Error(ErrorCode::kIOError, "cannot write " + path + ": " + std::strerror(errno));
  gdImagePng(im, f);
  const bool ok = !std::ferror(f);
  if (std::fclose(f) != 0 || !ok) throw Error(ErrorCode::kIOError, "cannot write " + path);
}

}  // namespace engram::lm
