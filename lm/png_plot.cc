// lm/png_plot.cc — rasterise lines into RGB pixels and encode them as PNG.
#include "lm/png_plot.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

#include "engram/error.h"

namespace engram::lm {

namespace {

struct Canvas {
  int w, h;
  std::vector<uint8_t> px;  // RGB rows
  Canvas(int w_, int h_) : w(w_), h(h_), px(static_cast<std::size_t>(w_) * h_ * 3, 255) {}
  void set(int x, int y, uint32_t rgb) {
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    uint8_t* p = &px[(static_cast<std::size_t>(y) * w + x) * 3];
    p[0] = rgb >> 16;
    p[1] = (rgb >> 8) & 0xff;
    p[2] = rgb & 0xff;
  }
  // Bresenham, drawn 2 pixels thick.
  void line(int x0, int y0, int x1, int y1, uint32_t rgb, int thick = 2) {
    const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
    const int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    while (true) {
      for (int a = 0; a < thick; ++a)
        for (int b = 0; b < thick; ++b) set(x0 + a, y0 + b, rgb);
      if (x0 == x1 && y0 == y1) break;
      const int e2 = 2 * err;
      if (e2 >= dy) { err += dy; x0 += sx; }
      if (e2 <= dx) { err += dx; y0 += sy; }
    }
  }
  void rect(int x0, int y0, int x1, int y1, uint32_t rgb) {
    for (int y = y0; y <= y1; ++y)
      for (int x = x0; x <= x1; ++x) set(x, y, rgb);
  }
};

void put_u32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void chunk(std::string& out, const char* type, const std::string& data) {
  put_u32(out, static_cast<uint32_t>(data.size()));
  std::string body = std::string(type, 4) + data;
  out += body;
  put_u32(out, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), body.size())));
}

std::string encode_png(const Canvas& c) {
  std::string raw;
  raw.reserve(static_cast<std::size_t>(c.h) * (c.w * 3 + 1));
  for (int y = 0; y < c.h; ++y) {
    raw.push_back(0);  // filter: none
    raw.append(reinterpret_cast<const char*>(&c.px[static_cast<std::size_t>(y) * c.w * 3]), c.w * 3);
  }
  uLongf zlen = compressBound(raw.size());
  std::string z(zlen, '\0');
  compress2(reinterpret_cast<Bytef*>(z.data()), &zlen, reinterpret_cast<const Bytef*>(raw.data()),
            raw.size(), 6);
  z.resize(zlen);
  std::string png("\x89PNG\r\n\x1a\n", 8), ihdr;
  put_u32(ihdr, c.w);
  put_u32(ihdr, c.h);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB
  chunk(png, "IHDR", ihdr);
  chunk(png, "IDAT", z);
  chunk(png, "IEND", "");
  return png;
}

}  // namespace

void write_plot_png(const std::string& path, const std::vector<PlotSeries>& series, int width,
                    int height) {
  Canvas c(width, height);
  const int left = 50, right = width - 20, top = 40, bottom = height - 40;
  double x0 = std::numeric_limits<double>::max(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const auto& s : series)
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, s.x[i]); x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]); y1 = std::max(y1, s.y[i]);
    }
  if (x0 > x1) { x0 = 0; x1 = 1; y0 = 0; y1 = 1; }
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  y0 = std::max(0.0, y0 - 0.05 * (y1 - y0));
  auto X = [&](double v) { return left + static_cast<int>((v - x0) / (x1 - x0) * (right - left)); };
  auto Y = [&](double v) { return bottom - static_cast<int>((v - y0) / (y1 - y0) * (bottom - top)); };
  // Axes, with ten ticks each and light grid lines.
  for (int i = 0; i <= 10; ++i) {
    const int gx = left + i * (right - left) / 10, gy = bottom - i * (bottom - top) / 10;
    c.line(gx, top, gx, bottom, 0xeeeeee, 1);
    c.line(left, gy, right, gy, 0xeeeeee, 1);
    c.line(gx, bottom, gx, bottom + 5, 0x000000, 1);
    c.line(left - 5, gy, left, gy, 0x000000, 1);
  }
  c.line(left, bottom, right, bottom, 0x000000, 1);
  c.line(left, top, left, bottom, 0x000000, 1);
  int key_x = left;
  for (const auto& s : series) {
    if (s.x.empty()) continue;
    c.rect(key_x, 12, key_x + 30, 20, s.rgb);  // colour key: one swatch per series, in order
    key_x += 50;
    int px = -1, py = -1;
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      const int nx = X(s.x[i]), ny = Y(s.y[i]);
      if (px >= 0) c.line(px, py, nx, ny, s.rgb);
      else c.rect(nx - 1, ny - 1, nx + 1, ny + 1, s.rgb);
      px = nx;
      py = ny;
    }
  }
  std::ofstream out(path, std::ios::binary);
  out << encode_png(c);
  if (!out) throw Error(ErrorCode::kIOError, "cannot write " + path);
}

}  // namespace engram::lm
