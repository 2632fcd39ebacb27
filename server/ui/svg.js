// svg.js — the console's charts, drawn as inline SVG by hand: sparklines for keys and values,
// bars for weights and gates, and line charts for rates and losses. No library, no canvas, so
// every number drawn is also in the DOM for tests and for copy-paste.

const NS = "http://www.w3.org/2000/svg";

export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c);
  return el;
}

export function range(values) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) return [lo - 1, hi + 1];
  return [lo, hi];
}

// A vector as a small line (one point per component), with a zero line when zero is in range.
// The vector itself rides along in data-values so that nothing is lost to the drawing.
// `scale` ([lo, hi]) draws several vectors on one scale, so that they can be compared.
export function sparkline(values, { width = 120, height = 24, cls = "spark", scale } = {}) {
  const [lo, hi] = scale || range(values);
  const n = values.length;
  const x = i => (n <= 1 ? width / 2 : (i * (width - 2)) / (n - 1) + 1);
  const y = v => height - 1 - ((v - lo) * (height - 2)) / (hi - lo);
  const svg = s("svg", { class: cls, width, height, viewBox: `0 0 ${width} ${height}`, role: "img" });
  svg.dataset.values = JSON.stringify(values);
  svg.append(s("title", {}, document.createTextNode(values.map(v => +v.toPrecision(3)).join(", "))));
  if (lo < 0 && hi > 0) svg.append(s("line", { class: "zero", x1: 0, x2: width, y1: y(0), y2: y(0) }));
  const pts = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  svg.append(s("polyline", { points: pts }));
  return svg;
}

// A horizontal bar for a number in [0, max] (weights, gates), with the number beside it.
export function bar(value, { max = 1, width = 160, label } = {}) {
  const w = Math.max(0, Math.min(1, value / max)) * width;
  const svg = s("svg", { class: "bar", width, height: 12, viewBox: `0 0 ${width} 12` });
  svg.append(s("rect", { class: "track", x: 0, y: 0, width, height: 12 }));
  svg.append(s("rect", { class: "fill", x: 0, y: 0, width: w.toFixed(2), height: 12 }));
  if (label) svg.append(s("title", {}, document.createTextNode(label)));
  return svg;
}

// A line chart of several series over a shared x: series = [{name, points: [[x, y], ...]}].
// Hovering shows each series' value at the nearest x; the legend toggles series on and off.
export function line_chart(series, { width = 720, height = 260, x_label = "", y_label = "", log_y = false } = {}) {
  const pad = { l: 56, r: 24, t: 10, b: 32 };
  const all = series.flatMap(sr => sr.points);
  const ty = v => (log_y ? Math.log10(Math.max(v, 1e-12)) : v);
  const [x0, x1] = range(all.map(p => p[0]));
  const [y0, y1] = range(all.map(p => ty(p[1])));
  const X = v => pad.l + ((v - x0) * (width - pad.l - pad.r)) / (x1 - x0);
  const Y = v => height - pad.b - ((ty(v) - y0) * (height - pad.t - pad.b)) / (y1 - y0);
  const svg = s("svg", { class: "chart", width, height, viewBox: `0 0 ${width} ${height}` });

  // Axes with five ticks each.
  for (let i = 0; i <= 4; ++i) {
    const yv = y0 + ((y1 - y0) * i) / 4, yy = height - pad.b - ((height - pad.t - pad.b) * i) / 4;
    svg.append(s("line", { class: "grid", x1: pad.l, x2: width - pad.r, y1: yy, y2: yy }));
    svg.append(s("text", { class: "tick", x: pad.l - 4, y: yy + 4, "text-anchor": "end" },
                 document.createTextNode(fmt(log_y ? 10 ** yv : yv))));
    const xv = x0 + ((x1 - x0) * i) / 4, xx = X(xv);
    svg.append(s("text", { class: "tick", x: xx, y: height - pad.b + 14, "text-anchor": "middle" },
                 document.createTextNode(fmt(xv))));
  }
  svg.append(s("text", { class: "axis", x: width / 2, y: height - 4, "text-anchor": "middle" }, document.createTextNode(x_label)));
  svg.append(s("text", { class: "axis", x: 12, y: pad.t + 8 }, document.createTextNode(y_label)));

  const lines = series.map((sr, i) => {
    const pts = sr.points.filter(p => Number.isFinite(p[1])).map(p => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(" ");
    const el = s("polyline", { class: `series s${i}`, points: pts });
    el.dataset.name = sr.name;
    svg.append(el);
    return el;
  });

  // The hover read-out: a vertical rule and one line of text per series.
  const rule = s("line", { class: "rule", y1: pad.t, y2: height - pad.b, visibility: "hidden" });
  const readout = s("text", { class: "readout", x: pad.l + 6, y: pad.t + 12 });
  svg.append(rule, readout);
  svg.addEventListener("mousemove", ev => {
    const box = svg.getBoundingClientRect();
    const px = ((ev.clientX - box.left) * width) / box.width;
    const xv = x0 + ((px - pad.l) * (x1 - x0)) / (width - pad.l - pad.r);
    const parts = [];
    let at = null;
    series.forEach((sr, i) => {
      if (lines[i].getAttribute("visibility") === "hidden" || !sr.points.length) return;
      const p = sr.points.reduce((a, b) => (Math.abs(b[0] - xv) < Math.abs(a[0] - xv) ? b : a));
      at = p[0];
      parts.push(`${sr.name} ${fmt(p[1])}`);
    });
    if (at === null) return;
    rule.setAttribute("x1", X(at)); rule.setAttribute("x2", X(at)); rule.setAttribute("visibility", "visible");
    readout.textContent = `${x_label} ${fmt(at)}: ${parts.join(" · ")}`;
  });
  svg.addEventListener("mouseleave", () => { rule.setAttribute("visibility", "hidden"); readout.textContent = ""; });

  const legend = document.createElement("div");
  legend.className = "legend";
  series.forEach((sr, i) => {
    const box = document.createElement("label");
    const cb = document.createElement("input");
    cb.type = "checkbox"; cb.checked = true;
    cb.addEventListener("change", () => lines[i].setAttribute("visibility", cb.checked ? "visible" : "hidden"));
    const swatch = document.createElement("span");
    swatch.className = `swatch s${i}`;
    box.append(cb, swatch, document.createTextNode(sr.name));
    legend.append(box);
  });
  const wrap = document.createElement("div");
  wrap.className = "chart-wrap";
  wrap.append(svg, legend);
  return wrap;
}

function fmt(v) {
  if (!Number.isFinite(v)) return "";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}
